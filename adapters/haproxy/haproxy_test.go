package haproxy

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/adaptertest"
	"github.com/durable-delivery/durable/adapters/haproxy/haproxytest"
	"github.com/durable-delivery/durable/adapters/hostconfig"
)

// backends are the services the bootstrap configuration declares: HAProxy
// cannot add a backend at run time, only servers.
var backends = []string{"web", "conformance-apply", "conformance-zero", "conformance-sum",
	"conformance-follow", "conformance-drain", "conformance-concurrent", "conformance-cancelled"}

// startHAProxy runs Debian's haproxy with the backends of the tests.
func startHAProxy(t testing.TB) (frontend, socket string) {
	t.Helper()
	return haproxytest.Start(t, backends...)
}

func send(frontend string) func(t *testing.T, service string) (string, error) {
	return func(t *testing.T, service string) (string, error) {
		req, err := http.NewRequest(http.MethodGet, "http://"+frontend+"/", nil)
		if err != nil {
			return "", err
		}
		req.Host = service + ".localhost"
		return adaptertest.ReadAll(http.DefaultClient.Do(req))
	}
}

// TestConformance runs the traffic suite against a real HAProxy.
func TestConformance(t *testing.T) {
	frontend, socket := startHAProxy(t)
	adaptertest.RunTraffic(t, adaptertest.TrafficHarness{
		New:  func(t *testing.T) adapters.Traffic { return New(socket) },
		Send: send(frontend),
	})
}

func TestServerWeightsAreExact(t *testing.T) {
	eps := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("127.0.0.1:%d", 1000+i))
		}
		return out
	}
	for _, tc := range []struct {
		name           string
		wa, na, wb, nb int
	}{
		{"25/75 over 2 and 2", 25, 2, 75, 2},
		{"50/50 over 3 and 2", 50, 3, 50, 2},
		{"100/0", 100, 2, 0, 2},
		{"33/67 over 1 and 1", 33, 1, 67, 1},
		{"5/95 over 3 and 4 (scaled under 256)", 5, 3, 95, 4},
		{"1/99 over 7 and 5", 1, 7, 99, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := serverWeights(adapters.Split{Service: "web", Backends: []adapters.Backend{
				{Set: "a", Weight: tc.wa, Endpoints: eps(tc.na)}, {Set: "b", Weight: tc.wb, Endpoints: eps(tc.nb)}}})
			if err != nil {
				t.Fatal(err)
			}
			sa, sb := 0, 0
			for name, s := range w {
				if setOf(name) == "a" {
					sa += s.weight
				} else {
					sb += s.weight
				}
				if s.weight > maxWeight {
					t.Fatalf("server weight %d over HAProxy's %d", s.weight, maxWeight)
				}
			}
			// The sets' shares are the requested ones, to the percent.
			if got := percentages([]adapters.Backend{{Set: "a"}, {Set: "b"}}, map[string]int{"a": sa, "b": sb}, sa+sb); got[0] != tc.wa || got[1] != tc.wb {
				t.Fatalf("shares %v from server weights %d/%d, want %d/%d", got, sa, sb, tc.wa, tc.wb)
			}
		})
	}
}

func TestAdapterConfigIsStrict(t *testing.T) {
	host := adapters.Host{Config: &hostconfig.Config{File: "host.yaml", HAProxy: map[string]hostconfig.HAProxy{"edge": {Socket: "/x"}}}}
	for _, cfg := range []string{`{}`, `{"socket": "edge", "sockett": "/y"}`, `{"socket": 1}`, `{"socket": "/x"}`, `{"socket": "west"}`} {
		if _, err := adapters.NewTraffic("haproxy", []byte(cfg), host); err == nil {
			t.Errorf("config %s accepted", cfg)
		}
	}
	if _, err := adapters.NewTraffic("haproxy", []byte(`{"socket": "edge"}`), host); err != nil {
		t.Errorf("a socket the host file names: %v", err)
	}
	if _, err := New("/nonexistent/admin.sock").Split(context.Background(), "web"); err == nil || !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("unreachable socket: %v", err)
	}
}

// BenchmarkSwitch measures one traffic switch between two sets of two
// servers each through the Runtime API.
func BenchmarkSwitch(b *testing.B) {
	_, socket := startHAProxy(b)
	c := New(socket)
	ctx := context.Background()
	a := []string{"127.0.0.1:1001", "127.0.0.1:1002"}
	bb := []string{"127.0.0.1:2001", "127.0.0.1:2002"}
	for i := range b.N {
		wa := []int{100, 0}[i%2]
		if err := c.SetSplit(ctx, adapters.Split{Service: "web", Backends: []adapters.Backend{
			{Set: "a", Weight: wa, Endpoints: a}, {Set: "b", Weight: 100 - wa, Endpoints: bb}}}); err != nil {
			b.Fatal(err)
		}
	}
}
