package router

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/internal/listener"
)

// TestMetricsJSONCarriesInfinity: the admin API writes valid JSON although
// the last bucket's bound is +Inf, and the client reads +Inf back.
func TestMetricsJSONCarriesInfinity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a := startRouterWith(t, Config{Admin: listener.Config{Address: socketURL(t, "admin.sock")}, MetricsListen: "127.0.0.1:0"})
	listen := a.Listen.String()
	c := newClient(t, a.Admin, "")
	if err := c.SetSplit(ctx, split("web", adapters.Backend{Set: "a", Weight: 100, Endpoints: []string{backend(t, "a")}})); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		get(t, http.DefaultClient, "http://"+listen+"/fail")
	}
	resp, err := http.Get("http://" + a.Metrics.String() + "/v1/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !json.Valid(raw) {
		t.Fatalf("GET /v1/metrics is not JSON: %s", raw)
	}
	m, err := c.SetMetrics(ctx, "web", "a")
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests != 3 || m.ServerErrors != 3 {
		t.Fatalf("requests %d, 5xx %d; want 3, 3", m.Requests, m.ServerErrors)
	}
	last := m.LatencyBuckets[len(m.LatencyBuckets)-1]
	if !math.IsInf(last.UpperBound, 1) || last.Count != m.Requests {
		t.Fatalf("last bucket %+v, want +Inf holding all %d requests", last, m.Requests)
	}
	if _, err := c.SetMetrics(ctx, "web", "never-seen"); err == nil {
		t.Fatal("metrics of an unknown set")
	}
}

func TestLatencyBucketsAreCumulative(t *testing.T) {
	for _, tc := range []struct {
		took time.Duration
		// first is the index of the first bucket that counts the request.
		first int
	}{
		{0, 0},
		{5 * time.Millisecond, 0},
		{6 * time.Millisecond, 1},
		{time.Second, 7},
		{11 * time.Second, len(latencyBounds) - 1},
		{time.Hour, len(latencyBounds) - 1},
	} {
		c := newMetrics().of("web", "a")
		c.observe(http.StatusOK, tc.took)
		for i, b := range c.stats().LatencyBuckets {
			want := uint64(0)
			if i >= tc.first {
				want = 1
			}
			if b.Count != want {
				t.Errorf("%s: bucket le=%g counts %d, want %d", tc.took, b.UpperBound, b.Count, want)
			}
		}
	}
}

// TestFailedPersistenceLeavesTheSplit: when the state cannot be written the
// admin call fails with a 500 and the router keeps routing as before.
func TestFailedPersistenceLeavesTheSplit(t *testing.T) {
	dir := t.TempDir()
	r, url := newTestRouter(t, dir+"/router.json")
	if err := r.SetSplit(split("web", adapters.Backend{Set: "a", Weight: 100, Endpoints: []string{backend(t, "a")}})); err != nil {
		t.Fatal(err)
	}
	r.stateFile = dir + "/missing-dir/router.json"
	admin := httptest.NewServer(r.AdminHandler())
	defer admin.Close()
	body := `{"service":"web","backends":[{"set":"b","weight":100,"endpoints":["` + backend(t, "b") + `"]}]}`
	req, _ := http.NewRequest(http.MethodPut, admin.URL+"/v1/splits/web", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("PUT with an unwritable state file: %d", resp.StatusCode)
	}
	if body, _, _ := get(t, http.DefaultClient, url); body != "a" {
		t.Fatalf("served by %q after a failed change", body)
	}
}

// The metrics listener serves the counters in Prometheus' text format too,
// and nothing of the admin API.
func TestMetricsListenerServesPrometheusText(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a := startRouterWith(t, Config{Admin: listener.Config{Address: socketURL(t, "admin.sock")}, MetricsListen: "127.0.0.1:0"})
	c := newClient(t, a.Admin, "")
	if err := c.SetSplit(ctx, split("web", adapters.Backend{Set: "a\"b", Weight: 100, Endpoints: []string{backend(t, "a")}})); err != nil {
		t.Fatal(err)
	}
	get(t, http.DefaultClient, "http://"+a.Listen.String()+"/fail")
	resp, err := http.Get("http://" + a.Metrics.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"# TYPE durable_router_requests_total counter\n",
		`durable_router_requests_total{service="web",set="a\"b"} 1` + "\n",
		`durable_router_server_errors_total{service="web",set="a\"b"} 1` + "\n",
		`durable_router_request_duration_seconds_bucket{service="web",set="a\"b",le="+Inf"} 1` + "\n",
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("no %q in:\n%s", want, text)
		}
	}
	req, _ := http.NewRequest(http.MethodPut, "http://"+a.Metrics.String()+"/v1/splits/web", strings.NewReader("{}"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("PUT on the metrics listener: %v %v", resp, err)
	}
}
