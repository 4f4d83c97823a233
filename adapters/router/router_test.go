package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/hostconfig"
	"github.com/durable-delivery/durable/internal/listener"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// backend is a real HTTP server that answers with its name.
func backend(t testing.TB, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, name)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func newTestRouter(t testing.TB, stateFile string) (*Router, string) {
	t.Helper()
	r, err := New(stateFile, quiet)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.URL
}

func get(t testing.TB, client *http.Client, url string) (string, string, int) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.Header.Get("X-Durable-Set"), resp.StatusCode
}

func split(service string, backends ...adapters.Backend) adapters.Split {
	return adapters.Split{Service: service, Backends: backends}
}

func TestWeightsAreExactOverACycle(t *testing.T) {
	r, url := newTestRouter(t, "")
	a, b := backend(t, "a"), backend(t, "b")
	for _, tc := range []struct{ wa, wb int }{{25, 75}, {50, 50}, {1, 99}, {100, 0}, {0, 100}} {
		if err := r.SetSplit(split("web", adapters.Backend{Set: "a", Weight: tc.wa, Endpoints: []string{a}},
			adapters.Backend{Set: "b", Weight: tc.wb, Endpoints: []string{b}})); err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for range 100 {
			body, set, code := get(t, http.DefaultClient, url)
			if code != 200 || body != set {
				t.Fatalf("weights %d/%d: got %d %q from set %q", tc.wa, tc.wb, code, body, set)
			}
			counts[body]++
		}
		if counts["a"] != tc.wa || counts["b"] != tc.wb {
			t.Errorf("weights %d/%d: served %v", tc.wa, tc.wb, counts)
		}
	}
}

func TestRoutesByHostWhenSeveralServices(t *testing.T) {
	r, url := newTestRouter(t, "")
	for _, svc := range []string{"web", "api"} {
		if err := r.SetSplit(split(svc, adapters.Backend{Set: svc + "-1", Weight: 100, Endpoints: []string{backend(t, svc)}})); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ host, want string }{{"web.localhost", "web"}, {"api.example.test:8080", "api"}} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Host = tc.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != tc.want {
			t.Errorf("host %s: served by %q", tc.host, b)
		}
	}
	// An unknown host with several services is not guessed.
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Host = "other.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("unknown host: %d, want 503", resp.StatusCode)
	}
}

func TestNoTrafficIs503(t *testing.T) {
	r, url := newTestRouter(t, "")
	if _, _, code := get(t, http.DefaultClient, url); code != http.StatusServiceUnavailable {
		t.Fatalf("no service: %d", code)
	}
	if err := r.SetSplit(split("web", adapters.Backend{Set: "a", Weight: 0, Endpoints: []string{backend(t, "a")}})); err != nil {
		t.Fatal(err)
	}
	if _, _, code := get(t, http.DefaultClient, url); code != http.StatusServiceUnavailable {
		t.Fatalf("all weights zero: %d", code)
	}
}

// TestSwitchIsAtomicUnderLoad flips the split back and forth while clients
// send requests: no request fails, and once a switch returns no request
// started after it reaches the set that left.
func TestSwitchIsAtomicUnderLoad(t *testing.T) {
	r, url := newTestRouter(t, "")
	a, b := backend(t, "a"), backend(t, "b")
	to := func(set string) {
		t.Helper()
		ab := map[string]int{"a": 0, "b": 0}
		ab[set] = 100
		if err := r.SetSplit(split("web", adapters.Backend{Set: "a", Weight: ab["a"], Endpoints: []string{a}},
			adapters.Backend{Set: "b", Weight: ab["b"], Endpoints: []string{b}})); err != nil {
			t.Fatal(err)
		}
	}
	to("a")
	type result struct {
		start time.Time
		set   string
		err   error
	}
	var (
		mu      sync.Mutex
		results []result
		stop    atomic.Bool
		wg      sync.WaitGroup
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				start := time.Now()
				resp, err := client.Get(url)
				res := result{start: start, err: err}
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					res.set = string(body)
					if resp.StatusCode != 200 {
						res.err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
			}
		}()
	}
	for i := range 50 {
		to([]string{"b", "a"}[i%2])
		time.Sleep(2 * time.Millisecond)
	}
	to("b")
	switched := time.Now()
	time.Sleep(50 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	after := 0
	for _, res := range results {
		if res.err != nil {
			t.Fatalf("request failed during switches: %v", res.err)
		}
		if res.start.After(switched) {
			after++
			if res.set != "b" {
				t.Fatalf("request started after the switch to b was served by %q", res.set)
			}
		}
	}
	if after == 0 {
		t.Fatal("no request was sent after the last switch")
	}
}

// TestRemovedSetDrains checks that a request in flight on a set that leaves
// the split completes, while new requests go to the new set.
func TestRemovedSetDrains(t *testing.T) {
	r, url := newTestRouter(t, "")
	release := make(chan struct{})
	entered := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		close(entered)
		<-release
		fmt.Fprint(w, "old")
	}))
	defer slow.Close()
	if err := r.SetSplit(split("web", adapters.Backend{Set: "old", Weight: 100, Endpoints: []string{strings.TrimPrefix(slow.URL, "http://")}})); err != nil {
		t.Fatal(err)
	}
	done := make(chan string)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			done <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	<-entered
	if got := r.metrics.of("web", "old").inFlight.Load(); got != 1 {
		t.Fatalf("in flight on old = %d, want 1", got)
	}
	if err := r.SetSplit(split("web", adapters.Backend{Set: "new", Weight: 100, Endpoints: []string{backend(t, "new")}})); err != nil {
		t.Fatal(err)
	}
	if body, _, _ := get(t, http.DefaultClient, url); body != "new" {
		t.Fatalf("new request served by %q", body)
	}
	close(release)
	if got := <-done; got != "200 old" {
		t.Fatalf("in-flight request on the removed set: %q", got)
	}
	if got := r.metrics.of("web", "old").inFlight.Load(); got != 0 {
		t.Fatalf("in flight on old after drain = %d", got)
	}
}

func TestDialFailureTriesAnotherInstance(t *testing.T) {
	r, url := newTestRouter(t, "")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	if err := r.SetSplit(split("web", adapters.Backend{Set: "a", Weight: 100, Endpoints: []string{closed, backend(t, "a")}})); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if body, _, code := get(t, http.DefaultClient, url); code != 200 || body != "a" {
			t.Fatalf("got %d %q with one dead instance", code, body)
		}
	}
	// With every instance dead the answer is a 502, counted as a 5xx.
	if err := r.SetSplit(split("web", adapters.Backend{Set: "dead", Weight: 100, Endpoints: []string{closed}})); err != nil {
		t.Fatal(err)
	}
	if _, _, code := get(t, http.DefaultClient, url); code != http.StatusBadGateway {
		t.Fatalf("all instances dead: %d", code)
	}
	if s := r.metrics.of("web", "dead").stats(); s.ServerErrors != 1 {
		t.Fatalf("502 not counted: %+v", s)
	}
}

func TestMetricsCountRequestsErrorsAndLatency(t *testing.T) {
	r, url := newTestRouter(t, "")
	if err := r.SetSplit(split("web", adapters.Backend{Set: "a", Weight: 100, Endpoints: []string{backend(t, "a")}})); err != nil {
		t.Fatal(err)
	}
	for range 7 {
		get(t, http.DefaultClient, url)
	}
	for range 3 {
		get(t, http.DefaultClient, url+"/fail")
	}
	s := r.metrics.of("web", "a").stats()
	if s.Requests != 10 || s.ServerErrors != 3 {
		t.Fatalf("requests %d, 5xx %d; want 10, 3", s.Requests, s.ServerErrors)
	}
	prev := uint64(0)
	for _, b := range s.LatencyBuckets {
		if b.Count < prev || b.Count > s.Requests {
			t.Fatalf("buckets not cumulative: %+v", s.LatencyBuckets)
		}
		prev = b.Count
	}
	if last := s.LatencyBuckets[len(s.LatencyBuckets)-1]; last.Count != 10 {
		t.Fatalf("10 fast requests should all be under %gs: %+v", last.UpperBound, s.LatencyBuckets)
	}
}

func TestAdminRejectsBadInputAndKeepsTheSplit(t *testing.T) {
	r, _ := newTestRouter(t, "")
	admin := httptest.NewServer(r.AdminHandler())
	defer admin.Close()
	good := split("web", adapters.Backend{Set: "a", Weight: 100, Endpoints: []string{backend(t, "a")}})
	if err := r.SetSplit(good); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, body, want string
		code                   int
	}{
		{"broken json", "web", `{"service": "web", "backends": [`, "not a split", 400},
		{"unknown field", "web", `{"service": "web", "backend": []}`, "unknown field", 400},
		{"two values", "web", `{"service":"web","backends":[]} {}`, "more than one", 400},
		{"stray brace after the split", "web", `{"service":"web","backends":[]} }`, "text after the split", 400},
		{"sum 99", "web", `{"service":"web","backends":[{"set":"a","weight":99,"endpoints":["127.0.0.1:1"]}]}`, "sum to 99", 400},
		{"negative", "web", `{"service":"web","backends":[{"set":"a","weight":-1,"endpoints":["127.0.0.1:1"]},{"set":"b","weight":101,"endpoints":["127.0.0.1:1"]}]}`, "weight -1", 400},
		{"duplicate set", "web", `{"service":"web","backends":[{"set":"a","weight":50,"endpoints":["127.0.0.1:1"]},{"set":"a","weight":50,"endpoints":["127.0.0.1:1"]}]}`, "twice", 400},
		{"no endpoint", "web", `{"service":"web","backends":[{"set":"a","weight":100,"endpoints":[]}]}`, "no endpoint", 400},
		{"bad endpoint", "web", `{"service":"web","backends":[{"set":"a","weight":100,"endpoints":["localhost"]}]}`, "not HOST:PORT", 400},
		{"bad port", "web", `{"service":"web","backends":[{"set":"a","weight":100,"endpoints":["127.0.0.1:99999"]}]}`, "port", 400},
		{"empty set id", "web", `{"service":"web","backends":[{"set":"","weight":100,"endpoints":["127.0.0.1:1"]}]}`, "non-empty", 400},
		{"wrong service in path", "api", `{"service":"web","backends":[]}`, "path names", 400},
		{"bad service name", "Web%20x", `{"service":"Web x","backends":[]}`, "service name", 400},
		{"too many sets", "web", `{"service":"web","backends":[` + strings.Repeat(`{"set":"x","weight":0},`, maxBackends) + `{"set":"y","weight":0}]}`, "at most 64", 400},
		{"long set id", "web", `{"service":"web","backends":[{"set":"` + strings.Repeat("s", 201) + `","weight":0}]}`, "at most 200", 400},
		{"weight as text", "web", `{"service":"web","backends":[{"set":"a","weight":"100","endpoints":["127.0.0.1:1"]}]}`, "not a split", 400},
		{"empty body", "web", ``, "not a split", 400},
		{"oversized body", "web", `{"service":"web","backends":[],"x":"` + strings.Repeat("x", maxAdminBody) + `"}`, "over", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, admin.URL+"/v1/splits/"+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
				t.Fatalf("got %d %s; want %d containing %q", resp.StatusCode, b, tc.code, tc.want)
			}
			if got, _ := r.Split("web"); got.Backends[0].Set != "a" || got.Backends[0].Weight != 100 {
				t.Fatalf("split changed by a rejected call: %+v", got)
			}
		})
	}
}

func TestStateFileSurvivesRestart(t *testing.T) {
	state := filepath.Join(t.TempDir(), "router.json")
	r1, _ := newTestRouter(t, state)
	want := split("web", adapters.Backend{Set: "a", Weight: 100, Endpoints: []string{"127.0.0.1:1234"}},
		adapters.Backend{Set: "b", Weight: 0, Endpoints: []string{"127.0.0.1:1235"}})
	if err := r1.SetSplit(want); err != nil {
		t.Fatal(err)
	}
	r2, err := New(state, quiet)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := r2.Split("web")
	if !ok || got.Weight("a") != 100 || len(got.Backends) != 2 {
		t.Fatalf("restored split %+v", got)
	}
	if err := r2.DeleteSplit("web"); err != nil {
		t.Fatal(err)
	}
	if r3, err := New(state, quiet); err != nil {
		t.Fatal(err)
	} else if _, ok := r3.Split("web"); ok {
		t.Fatal("deleted split came back")
	}

	if err := os.WriteFile(state, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(state, quiet); err == nil || !strings.Contains(err.Error(), state) || !strings.Contains(err.Error(), "move it aside") {
		t.Fatalf("corrupt state file: %v", err)
	}
	if err := os.WriteFile(state, []byte(`{"web": {"service": "web", "backends": [{"set": "a", "weight": 7}]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(state, quiet); err == nil || !strings.Contains(err.Error(), "invalid split") {
		t.Fatalf("invalid split in state file: %v", err)
	}
}

// TestClientDrivesARunningRouter runs the router as `durable router` does
// and drives it through the traffic adapter.
func TestClientDrivesARunningRouter(t *testing.T) {
	ctx := context.Background()
	listen, admin := startRouter(t)
	host := adapters.Host{Config: &hostconfig.Config{File: "host.yaml", Routers: map[string]hostconfig.Router{"edge": {Admin: admin}}}}
	tr, err := adapters.NewTraffic("router", []byte(`{"admin": "edge"}`), host)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Split(ctx, "web"); !errors.Is(err, adapters.ErrNotFound) {
		t.Fatalf("split of an unrouted service: %v", err)
	}
	a := backend(t, "a")
	if err := tr.SetSplit(ctx, split("web", adapters.Backend{Set: "a", Weight: 100, Endpoints: []string{a}})); err != nil {
		t.Fatal(err)
	}
	if body, set, _ := get(t, http.DefaultClient, "http://"+listen+"/"); body != "a" || set != "a" {
		t.Fatalf("served %q by %q", body, set)
	}
	s, err := tr.Split(ctx, "web")
	if err != nil || s.Weight("a") != 100 {
		t.Fatalf("split %+v, %v", s, err)
	}
	if n, err := tr.InFlight(ctx, "web", "a"); err != nil || n != 0 {
		t.Fatalf("in flight %d, %v", n, err)
	}
	m, err := tr.(adapters.HealthSource).SetMetrics(ctx, "web", "a")
	if err != nil || m.Requests != 1 {
		t.Fatalf("metrics %+v, %v", m, err)
	}
	if err := tr.SetSplit(ctx, split("web", adapters.Backend{Set: "a", Weight: 50, Endpoints: []string{a}})); !errors.Is(err, adapters.ErrInvalid) {
		t.Fatalf("bad split: %v", err)
	}

	dead := newClient(t, "127.0.0.1:1", "")
	if _, err := dead.Split(ctx, "web"); !errors.Is(err, adapters.ErrUnavailable) {
		t.Fatalf("unreachable router: %v", err)
	}
	short, cancelShort := context.WithCancel(ctx)
	cancelShort()
	if err := tr.SetSplit(short, split("web")); err == nil {
		t.Fatal("a cancelled context was not honoured")
	}
}

func TestAdapterConfigIsStrict(t *testing.T) {
	for _, cfg := range []string{`{}`, `{"admin": "127.0.0.1:1", "adminn": "x"}`, `{"admin": 7}`} {
		if _, err := adapters.NewTraffic("router", []byte(cfg), adapters.Host{}); err == nil {
			t.Errorf("config %s accepted", cfg)
		}
	}
}

func BenchmarkProxy(b *testing.B) {
	r, url := newTestRouter(b, "")
	if err := r.SetSplit(split("web", adapters.Backend{Set: "a", Weight: 90, Endpoints: []string{backend(b, "a")}},
		adapters.Backend{Set: "b", Weight: 10, Endpoints: []string{backend(b, "b")}})); err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// TestBrokenConnectionRetriesIdempotentRequests: an instance that drops the
// connection before answering (it crashed) costs a GET nothing, while a POST,
// which may have had effects, is not sent twice.
func TestBrokenConnectionRetriesIdempotentRequests(t *testing.T) {
	var posts atomic.Int32
	crashing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer crashing.Close()
	r, url := newTestRouter(t, "")
	if err := r.SetSplit(split("web", adapters.Backend{Set: "a", Weight: 100,
		Endpoints: []string{strings.TrimPrefix(crashing.URL, "http://"), backend(t, "a")}})); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if body, _, code := get(t, http.DefaultClient, url); code != 200 || body != "a" {
			t.Fatalf("GET: %d %q", code, body)
		}
	}
	failed := 0
	for range 10 {
		resp, err := http.Post(url, "text/plain", strings.NewReader("do it once"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusBadGateway {
			failed++
		}
	}
	if int(posts.Load()) != failed || failed == 0 {
		t.Fatalf("%d POSTs reached the crashing instance, %d answered 502: a POST was retried or none was tried", posts.Load(), failed)
	}
}

// startRouter runs a router as `durable router` does by default, its
// admin API on a Unix socket, for the rest of the test; it returns the
// traffic and admin addresses.
func startRouter(t *testing.T) (string, string) {
	t.Helper()
	a := startRouterWith(t, Config{Admin: listener.Config{Address: socketURL(t, "admin.sock")}})
	return a.Listen.String(), a.Admin
}

// startRouterWith runs a router on free ports with cfg's admin settings
// for the rest of the test.
func startRouterWith(t *testing.T, cfg Config) Addrs {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Listen, cfg.Logger = "127.0.0.1:0", quiet
	addrs, wait, err := Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := wait(); err != nil {
			t.Errorf("router: %v", err)
		}
	})
	return addrs
}

// socketURL is unix:///PATH for a socket in a fresh directory with a path
// short enough for a socket (t.TempDir's may not be).
func socketURL(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "router")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return "unix://" + filepath.Join(dir, name)
}

// newClient is a client of the admin API at admin, with the token of
// tokenFile when not empty.
func newClient(t *testing.T, admin, tokenFile string) *Client {
	t.Helper()
	c, err := NewClient(admin, tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
