package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/durable-delivery/durable/api"
)

// Client calls a running reconciler's API.
type Client struct {
	// Base is the API's base URL, e.g. http://127.0.0.1:7070.
	Base string
	HTTP *http.Client
	// Token, when not empty, is sent as a bearer token.
	Token string
}

// NewClient returns a client for the API at base.
func NewClient(base string) *Client {
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &Client{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// Status returns the reconciler's status.
func (c *Client) Status(ctx context.Context) (api.Status, error) {
	var s api.Status
	return s, c.do(ctx, http.MethodGet, "/v1/status", &s)
}

// Journal returns up to limit entries after seq.
func (c *Client) Journal(ctx context.Context, after uint64, limit int) ([]api.Entry, error) {
	var es []api.Entry
	return es, c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/journal?after=%d&limit=%d", after, limit), &es)
}

// Trigger asks the reconciler to fetch its repository now.
func (c *Client) Trigger(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/trigger", nil)
}

// Backup copies the running reconciler's journal into w (a write: it needs
// a write token), with no deadline but ctx's: a journal may be large. It
// fails when the copy is shorter than the server announced.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+"/v1/journal/backup", nil)
	if err != nil {
		return 0, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := http.Client{}
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("reconciler API %s: %w", c.Base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, apiError(c.Base+"/v1/journal/backup", resp)
	}
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("the copy is %d bytes, the reconciler announced %d", n, resp.ContentLength)
	}
	if err != nil {
		return n, fmt.Errorf("reconciler API %s/v1/journal/backup: %w", c.Base, err)
	}
	return n, nil
}

// apiError is the error an answer that is not a success says.
func apiError(where string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct{ Error string }
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return fmt.Errorf("reconciler API %s: %s", where, e.Error)
	}
	return fmt.Errorf("reconciler API %s: %s", where, resp.Status)
}

func (c *Client) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, nil)
	if err != nil {
		return err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("reconciler API %s: %w", c.Base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reconciler API %s%s: %w", c.Base, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("reconciler API %s%s: %s", c.Base, path, e.Error)
		}
		return fmt.Errorf("reconciler API %s%s: %s", c.Base, path, resp.Status)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("reconciler API %s%s: decode: %w", c.Base, path, err)
	}
	return nil
}
