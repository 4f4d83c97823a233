package haproxy

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/internal/hangtest"
)

// TestCommandsOnHungOrMissingSocket: every call of the adapter ends with
// ErrUnavailable within the caller's deadline, when the caller gives up, or
// at commandTimeout when the caller waits longer; a missing socket fails at
// once. Each error names the socket and what to check.
func TestCommandsOnHungOrMissingSocket(t *testing.T) {
	saved := commandTimeout
	commandTimeout = 600 * time.Millisecond // 10 s in production
	t.Cleanup(func() { commandTimeout = saved })

	split := adapters.Split{Service: "web", Backends: []adapters.Backend{{Set: "web-a", Weight: 100, Endpoints: []string{"127.0.0.1:1"}}}}
	calls := map[string]func(context.Context, *Client) error{
		"SetSplit":   func(ctx context.Context, c *Client) error { return c.SetSplit(ctx, split) },
		"Split":      func(ctx context.Context, c *Client) error { _, err := c.Split(ctx, "web"); return err },
		"SetMetrics": func(ctx context.Context, c *Client) error { _, err := c.SetMetrics(ctx, "web", "web-a"); return err },
	}
	hung := hangtest.FakeHungUnix(t)
	cases := []struct {
		name   string
		socket string
		ctx    func() (context.Context, context.CancelFunc)
		within time.Duration // below commandTimeout when the caller ends the call
	}{
		{"hung, caller's deadline", hung, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 150*time.Millisecond)
		}, 400 * time.Millisecond},
		{"hung, caller gives up", hung, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(150*time.Millisecond, cancel)
			return ctx, cancel
		}, 400 * time.Millisecond},
		{"hung, commandTimeout", hung, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Minute)
		}, time.Second},
		{"missing", filepath.Join(t.TempDir(), "no.sock"), func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Minute)
		}, 100 * time.Millisecond},
	}
	for _, tc := range cases {
		for name, call := range calls {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				ctx, cancel := tc.ctx()
				defer cancel()
				start := time.Now()
				err := call(ctx, New(tc.socket))
				took := time.Since(start)
				t.Logf("after %s: %v", took.Round(time.Millisecond), err)
				if !errors.Is(err, adapters.ErrUnavailable) || took > tc.within {
					t.Fatalf("%v after %s; want ErrUnavailable within %s", err, took, tc.within)
				}
				if !strings.Contains(err.Error(), "haproxy runtime API "+tc.socket) || !strings.Contains(err.Error(), "stats socket") {
					t.Errorf("error %v does not name the socket and what to check", err)
				}
			})
		}
	}
}
