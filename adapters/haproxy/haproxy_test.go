package haproxy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/adaptertest"
	"github.com/durable-delivery/durable/adapters/hostconfig"
)

// backends are the services the bootstrap configuration declares: HAProxy
// cannot add a backend at run time, only servers.
var backends = []string{"web", "conformance-apply", "conformance-zero", "conformance-sum",
	"conformance-follow", "conformance-drain", "conformance-concurrent", "conformance-cancelled"}

// startHAProxy runs Debian's haproxy with a frontend on a free 127.0.0.1 port
// that routes by the first label of the Host header, and the Runtime API on a
// unix socket. Without haproxy installed the test fails: it never skips.
func startHAProxy(t testing.TB) (frontend, socket string) {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatalf("haproxy is not installed (hack/install-deps.sh installs it): %v", err)
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	frontend = l.Addr().String()
	l.Close()
	socket = filepath.Join(dir, "admin.sock")
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `global
    stats socket %s mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend fe
    bind %s
    use_backend %%[req.hdr(host),field(1,.),field(1,:),lower]
`, socket, frontend)
	for _, be := range backends {
		fmt.Fprintf(&cfg, "backend %s\n    balance roundrobin\n", be)
	}
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", path, "-db")
	logFile, err := os.Create(filepath.Join(dir, "haproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := New(socket).command(context.Background(), "show info"); err == nil {
			return frontend, socket
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logFile.Name())
			t.Fatalf("haproxy did not start:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
