package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/hostconfig"
)

// TestAgentRetryAfterTimeoutRunsNothingTwice: an Ensure cut short by its
// deadline, wherever it stood, then repeated, leaves exactly the replicas
// asked for; the agent is told the deadline and gives up with the caller.
func TestAgentRetryAfterTimeoutRunsNothingTwice(t *testing.T) {
	addr := startAgent(t, agentOptions{})
	rt := dial(t, addr, "a1", reconcilerName).Runtime("process", nil)
	removeAll(t, rt)
	for i, d := range []time.Duration{time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond} {
		spec := demoSpec(t, fmt.Sprintf("retry-%d", i), 3)
		ctx, cancel := context.WithTimeout(context.Background(), d)
		_, err := rt.Ensure(ctx, spec)
		cancel()
		if err != nil && !errors.Is(err, adapters.ErrUnavailable) {
			t.Errorf("Ensure cut short after %s: %v, want ErrUnavailable", d, err)
		}
		st := ensureHealthy(t, rt, spec)
		sets, err := rt.Observe(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sets {
			if s.ID == spec.ID && (len(s.Instances) != 3 || len(st.Instances) != 3) {
				t.Fatalf("after a timeout after %s and a retry, observed %+v", d, s.Instances)
			}
		}
	}
}

// TestAgentServesInstancesOnItsBindAddress: instances of an agent with a
// bind address serve there, and their endpoints say so.
func TestAgentServesInstancesOnItsBindAddress(t *testing.T) {
	addr := startAgent(t, agentOptions{bind: "127.0.0.2"})
	rt := dial(t, addr, "a1", reconcilerName).Runtime("process", nil)
	removeAll(t, rt)
	st := ensureHealthy(t, rt, demoSpec(t, "bound", 1))
	if ep := st.Instances[0].Endpoint; !strings.HasPrefix(ep, "127.0.0.2:") {
		t.Fatalf("endpoint %s, want on 127.0.0.2", ep)
	}
	resp, err := http.Get("http://" + st.Instances[0].Endpoint + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestAgentServesTheRoutersCounters: the router's counters of a set, read
// through the agent, count the requests sent through the router; a router
// the host file does not name, or one that is down, is a typed error.
func TestAgentServesTheRoutersCounters(t *testing.T) {
	listen, host := startRouter(t)
	host.Routers["gone"] = hostconfig.Router{Admin: "unix:///nonexistent/admin.sock"}
	addr := startAgent(t, agentOptions{host: host})
	a := dial(t, addr, "a1", reconcilerName)
	tr := a.Traffic("router", json.RawMessage(`{"admin": "edge"}`)).(routerAdapter)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	t.Cleanup(backend.Close)
	split := adapters.Split{Service: "web", Backends: []adapters.Backend{{Set: "s1", Weight: 100, Endpoints: []string{strings.TrimPrefix(backend.URL, "http://")}}}}
	if err := tr.SetSplit(context.Background(), split); err != nil {
		t.Fatal(err)
	}
	for range 7 {
		req, _ := http.NewRequest(http.MethodGet, "http://"+listen+"/", nil)
		req.Host = "web.localhost"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	m, err := tr.SetMetrics(context.Background(), "web", "s1")
	if err != nil || m.Requests != 7 {
		t.Fatalf("counters of s1: %+v, %v; want 7 requests", m, err)
	}
	if _, err := tr.SetMetrics(context.Background(), "web", "never"); !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("counters of a set never routed: %v, want ErrNotFound", err)
	}
	unnamed := a.Traffic("router", json.RawMessage(`{"admin": "elsewhere"}`))
	if _, err := unnamed.Split(context.Background(), "web"); !errors.Is(err, adapters.ErrInvalid) || !strings.Contains(err.Error(), "elsewhere") {
		t.Errorf("a router the host file does not name: %v, want ErrInvalid naming it", err)
	}
	down := a.Traffic("router", json.RawMessage(`{"admin": "gone"}`))
	if _, err := down.Split(context.Background(), "web"); !errors.Is(err, adapters.ErrUnavailable) {
		t.Errorf("a router that is down: %v, want ErrUnavailable", err)
	}
}
