package router

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/internal/hangtest"
)

// TestClientOnHungOrDownRouter: every call of the traffic adapter ends
// within the caller's deadline, or the client's own timeout when the
// caller gives none, with ErrUnavailable and an error that names the
// admin API; a router nothing listens for fails at once.
func TestClientOnHungOrDownRouter(t *testing.T) {
	split := adapters.Split{Service: "web", Backends: []adapters.Backend{{Set: "web-a", Weight: 100, Endpoints: []string{"127.0.0.1:1"}}}}
	calls := map[string]func(context.Context, *Client) error{
		"SetSplit": func(ctx context.Context, c *Client) error { return c.SetSplit(ctx, split) },
		"Split":    func(ctx context.Context, c *Client) error { _, err := c.Split(ctx, "web"); return err },
	}
	cases := []struct {
		name     string
		addr     string
		deadline time.Duration // the caller's; 0 is none
		within   time.Duration
	}{
		{"hung, caller's deadline", hangtest.FakeHungTCP(t), 200 * time.Millisecond, time.Second},
		{"hung, the client's timeout", hangtest.FakeHungTCP(t), 0, time.Second},
		{"down", hangtest.FakeDownTCP(t), 0, time.Second},
	}
	for _, tc := range cases {
		for name, call := range calls {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				c, err := NewClient(tc.addr, "")
				if err != nil {
					t.Fatal(err)
				}
				c.api.HTTP.Timeout = 300 * time.Millisecond // listener.DefaultTimeout in production
				ctx := context.Background()
				if tc.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.deadline)
					defer cancel()
				}
				start := time.Now()
				err = call(ctx, c)
				took := time.Since(start)
				t.Logf("after %s: %v", took.Round(time.Millisecond), err)
				if !errors.Is(err, adapters.ErrUnavailable) || took > tc.within {
					t.Fatalf("%v after %s; want ErrUnavailable within %s", err, took, tc.within)
				}
				if !strings.Contains(err.Error(), "router admin API "+tc.addr) || !strings.Contains(err.Error(), "durable router runs") {
					t.Errorf("error %v does not name the admin API and what to check", err)
				}
			})
		}
	}
}
