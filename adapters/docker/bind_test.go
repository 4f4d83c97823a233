package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/docker/settings"
)

// TestPortsArePublishedOnTheBindAddress: with a bind address (an agent's),
// a container's port is published there, its endpoint says so, serves
// there, and a fresh runtime observes the same endpoint.
func TestPortsArePublishedOnTheBindAddress(t *testing.T) {
	owner := fmt.Sprintf("durable-test-%d", time.Now().UnixNano())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	newRuntime := func() *Runtime {
		rt, err := New(Config{Docker: settings.Docker{Owner: owner}, BindAddress: "127.0.0.2", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rt.Close() })
		return rt
	}
	rt := newRuntime()
	spec := adapters.InfraSetSpec{ID: "web-bound", Service: "web", Release: "r1", Artifact: demoImage(t), Port: 8080, Replicas: 1,
		Health: adapters.HealthCheck{Path: "/healthz", ExpectStatus: 200, Timeout: time.Second}}
	t.Cleanup(func() { _ = rt.Remove(context.Background(), spec.ID, time.Second) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := rt.Ensure(ctx, spec)
	for err == nil && !st.Healthy(1) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		st, err = rt.Ensure(ctx, spec)
	}
	if err != nil || !st.Healthy(1) {
		t.Fatalf("not healthy: %+v, %v", st, err)
	}
	ep := st.Instances[0].Endpoint
	if !strings.HasPrefix(ep, "127.0.0.2:") {
		t.Fatalf("endpoint %s, want on 127.0.0.2", ep)
	}
	resp, err := http.Get("http://" + ep + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sets, err := newRuntime().Observe(context.Background())
	if err != nil || len(sets) != 1 || sets[0].Instances[0].Endpoint != ep {
		t.Fatalf("a fresh runtime observes %+v, %v; want the endpoint %s", sets, err, ep)
	}
	for _, bad := range []string{"0.0.0.0", "host.example", "fe80::1%eth0"} {
		if _, err := New(Config{BindAddress: bad}); !errors.Is(err, adapters.ErrInvalid) {
			t.Errorf("bind address %q: %v, want ErrInvalid", bad, err)
		}
	}
}
