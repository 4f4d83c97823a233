package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/router/settings"
	"github.com/durable-delivery/durable/internal/listener"
)

func init() {
	adapters.RegisterTraffic("router", func(config json.RawMessage, host adapters.Host) (adapters.Traffic, error) {
		var cfg settings.Router
		if err := adapters.DecodeConfig(config, &cfg); err != nil {
			return nil, fmt.Errorf("router: %w", err)
		}
		r, err := host.Config.Router(cfg.Admin)
		if err != nil {
			return nil, fmt.Errorf("router: %w: %w", err, adapters.ErrInvalid)
		}
		return NewClient(r.Admin, r.TokenFile)
	})
}

// Client drives a router through its admin API. It is the "router" traffic
// adapter and a health source.
type Client struct {
	api *listener.Client
}

var (
	_ adapters.Traffic      = (*Client)(nil)
	_ adapters.HealthSource = (*Client)(nil)
	_ adapters.SplitRemover = (*Client)(nil)
	_ adapters.SplitLister  = (*Client)(nil)
)

// NewClient returns a client of the admin API at admin (unix:///PATH or
// HOST:PORT) that presents a token of tokenFile, when not empty.
func NewClient(admin, tokenFile string) (*Client, error) {
	c, err := listener.NewClient(listener.ClientConfig{Address: admin, TokenFile: tokenFile})
	if err != nil {
		return nil, fmt.Errorf("router admin API: %w: %w", err, adapters.ErrInvalid)
	}
	return &Client{api: c}, nil
}

// SetSplit replaces the service's split.
func (c *Client) SetSplit(ctx context.Context, split adapters.Split) error {
	// The router validates the split; only a name that cannot be part of
	// the path is caught here.
	if !serviceName.MatchString(split.Service) {
		return fmt.Errorf("router: service %q: a service name is 1 to 63 lowercase letters, digits or '-': %w", split.Service, adapters.ErrInvalid)
	}
	body, err := json.Marshal(split)
	if err != nil {
		return fmt.Errorf("router: encode split of %s: %w", split.Service, err)
	}
	return c.do(ctx, http.MethodPut, "/v1/splits/"+split.Service, body, nil)
}

// RemoveSplit stops routing the service; routing nothing is no error.
func (c *Client) RemoveSplit(ctx context.Context, service string) error {
	err := c.do(ctx, http.MethodDelete, "/v1/splits/"+url.PathEscape(service), nil, nil)
	if errors.Is(err, adapters.ErrNotFound) {
		return nil
	}
	return err
}

// Split reports the split the router applies; ErrNotFound when the service
// is not routed.
func (c *Client) Split(ctx context.Context, service string) (adapters.Split, error) {
	var s adapters.Split
	return s, c.do(ctx, http.MethodGet, "/v1/splits/"+url.PathEscape(service), nil, &s)
}

// Splits reports every split the router applies.
func (c *Client) Splits(ctx context.Context) ([]adapters.Split, error) {
	var byService map[string]adapters.Split
	if err := c.do(ctx, http.MethodGet, "/v1/splits", nil, &byService); err != nil {
		return nil, err
	}
	out := make([]adapters.Split, 0, len(byService))
	for _, name := range slices.Sorted(maps.Keys(byService)) {
		out = append(out, byService[name])
	}
	return out, nil
}

// InFlight reports the requests a set still has in flight; 0 for a set the
// router never sent a request to.
func (c *Client) InFlight(ctx context.Context, service, set string) (int, error) {
	all, err := c.Metrics(ctx)
	if err != nil {
		return 0, err
	}
	return int(all[service][set].InFlight), nil
}

// SetMetrics returns a set's cumulative counters.
func (c *Client) SetMetrics(ctx context.Context, service, set string) (adapters.SetMetrics, error) {
	all, err := c.Metrics(ctx)
	if err != nil {
		return adapters.SetMetrics{}, err
	}
	s, ok := all[service][set]
	if !ok {
		return adapters.SetMetrics{}, fmt.Errorf("router: no metrics for %s/%s: %w", service, set, adapters.ErrNotFound)
	}
	return s.SetMetrics, nil
}

// Metrics returns every set's counters.
func (c *Client) Metrics(ctx context.Context) (map[string]map[string]SetStats, error) {
	var m map[string]map[string]SetStats
	return m, c.do(ctx, http.MethodGet, "/v1/metrics", nil, &m)
}

// notAnswering is what a failed call to the admin API tells the operator:
// the call ended (listener.DefaultTimeout bounds it), nothing was decided.
const notAnswering = "the router is unreachable or not answering (check that durable router runs with this admin address)"

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.api.Base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("router admin API %s %s: %w", c.api.Address, path, err)
	}
	c.api.Authorize(req)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.api.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("router admin API %s %s: %s: %w: %w", c.api.Address, path, notAnswering, adapters.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("router admin API %s %s: %s: %w: %w", c.api.Address, path, notAnswering, adapters.ErrUnavailable, err)
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		_ = json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		return &apiError{status: resp.StatusCode, msg: e.Error, path: method + " " + path}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("router admin API %s %s: %w", c.api.Address, path, err)
		}
	}
	return nil
}
