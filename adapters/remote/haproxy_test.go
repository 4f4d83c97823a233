package remote

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/adaptertest"
	"github.com/durable-delivery/durable/adapters/agent/wire"
	"github.com/durable-delivery/durable/adapters/haproxy"
	"github.com/durable-delivery/durable/adapters/haproxy/haproxytest"
	"github.com/durable-delivery/durable/adapters/hostconfig"
	"github.com/durable-delivery/durable/adapters/router"
)

// TestHAProxyConformance runs the traffic suite against a real HAProxy
// driven through a real agent, which finds the Runtime API's socket in its
// host file. HAProxy lists no splits and removes none: those calls are
// ErrInvalid, which a reconciler takes as "ask split by split".
func TestHAProxyConformance(t *testing.T) {
	frontend, socket := haproxytest.Start(t, "conformance-apply", "conformance-zero", "conformance-sum",
		"conformance-follow", "conformance-drain", "conformance-concurrent", "conformance-cancelled")
	addr := startAgent(t, agentOptions{host: &hostconfig.Config{File: "test", HAProxy: map[string]hostconfig.HAProxy{"lb": {Socket: socket}}}})
	newTraffic := func(t *testing.T) adapters.Traffic {
		return dial(t, addr, "a1", reconcilerName).Traffic("haproxy", json.RawMessage(`{"socket": "lb"}`))
	}
	adaptertest.RunTraffic(t, adaptertest.TrafficHarness{
		New: func(t *testing.T) adapters.Traffic { return newTraffic(t) },
		Send: func(t *testing.T, service string) (string, error) {
			req, err := http.NewRequest(http.MethodGet, "http://"+frontend+"/", nil)
			if err != nil {
				return "", err
			}
			req.Host = service + ".localhost"
			return adaptertest.ReadAll(http.DefaultClient.Do(req))
		},
	})
	tr := newTraffic(t)
	if _, lists := tr.(adapters.SplitLister); lists {
		t.Error("a remote HAProxy is a SplitLister; HAProxy's adapter is not")
	}
	if _, err := tr.(adapters.HealthSource).SetMetrics(context.Background(), "conformance-apply", "set-a"); err != nil {
		t.Errorf("HAProxy's counters of a set through the agent: %v", err)
	}
	// Asked all the same, the agent says the adapter cannot.
	c := rawClient(t, reconcilerName, "a1")
	resp, err := c.Post("https://"+addr+wire.PathSplits, "application/json", strings.NewReader(`{"traffic": {"kind": "haproxy", "config": {"socket": "lb"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("splits of HAProxy: %s, want 400 (ErrInvalid)", resp.Status)
	}
}

// TestTrafficKindsAgreeWithTheAdapters holds the table of what each
// traffic kind can do to the adapters themselves: a remote adapter of a
// kind has the optional interfaces the local one has.
func TestTrafficKindsAgreeWithTheAdapters(t *testing.T) {
	local := map[string]adapters.Traffic{"router": mustRouter(t), "haproxy": haproxy.New("/nonexistent")}
	for kind, tr := range local {
		_, list := tr.(adapters.SplitLister)
		_, remove := tr.(adapters.SplitRemover)
		_, count := tr.(adapters.HealthSource)
		if want := (Can{List: list, Remove: remove, Count: count}); trafficKinds[kind] != want {
			t.Errorf("%s: the table says %+v, the adapter can %+v", kind, trafficKinds[kind], want)
		}
		remote := (&Agent{}).Traffic(kind, nil)
		_, rlist := remote.(adapters.SplitLister)
		_, rremove := remote.(adapters.SplitRemover)
		_, rcount := remote.(adapters.HealthSource)
		if rlist != list || rremove != remove || rcount != count {
			t.Errorf("remote %s lists %v, removes %v, counts %v; the adapter %v, %v, %v", kind, rlist, rremove, rcount, list, remove, count)
		}
	}
}

func mustRouter(t *testing.T) adapters.Traffic {
	c, err := router.NewClient("unix:///nonexistent", "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}
