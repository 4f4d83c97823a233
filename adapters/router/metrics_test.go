package router

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

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

// hostileSet is a set name that would break a hand-written exposition.
const hostileSet = "a\"b\n} 1\nforged{x=\"\\"

// The metrics listener serves the counters in Prometheus' exposition format
// too, escaped, and nothing of the admin API.
func TestMetricsListenerServesPrometheusText(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a := startRouterWith(t, Config{Admin: listener.Config{Address: socketURL(t, "admin.sock")}, MetricsListen: "127.0.0.1:0"})
	c := newClient(t, a.Admin, "")
	if err := c.SetSplit(ctx, split("web", adapters.Backend{Set: hostileSet, Weight: 100, Endpoints: []string{backend(t, "a")}})); err != nil {
		t.Fatal(err)
	}
	get(t, http.DefaultClient, "http://"+a.Listen.String()+"/fail")
	get(t, http.DefaultClient, "http://"+a.Listen.String()+"/")
	get(t, http.DefaultClient, "http://"+a.Listen.String()+"/")
	families := scrape(t, "http://"+a.Metrics.String()+"/metrics")
	labels := map[string]string{"service": "web", "set": hostileSet}
	for _, tc := range []struct {
		name  string
		code  string
		value float64
	}{
		{"durable_router_requests_total", "500", 1},
		{"durable_router_requests_total", "200", 2},
		{"durable_router_server_errors_total", "", 1},
		{"durable_router_requests_in_flight", "", 0},
		{"durable_router_request_duration_seconds", "", 3},
	} {
		want := maps.Clone(labels)
		if tc.code != "" {
			want["code"] = tc.code
		}
		if got, ok := sample(families[tc.name], want); !ok || got != tc.value {
			t.Errorf("%s%v = %g (present: %v), want %g", tc.name, want, got, ok, tc.value)
		}
	}
	if families["forged"] != nil || families["go_goroutines"] == nil || families["process_open_fds"] == nil {
		t.Errorf("families: forged %v, go_goroutines %v, process_open_fds %v", families["forged"], families["go_goroutines"] != nil, families["process_open_fds"] != nil)
	}
	req, _ := http.NewRequest(http.MethodPut, "http://"+a.Metrics.String()+"/v1/splits/web", strings.NewReader("{}"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("PUT on the metrics listener: %v %v", resp, err)
	}
}

// A set name that is not UTF-8 (Prometheus cannot carry it; the admin API's
// JSON never gives one) is left out, and the others are served.
func TestPrometheusLeavesOutWhatCannotBeExposed(t *testing.T) {
	m := newMetrics()
	m.of("web", "bad\xff").observe(http.StatusOK, time.Millisecond)
	m.of("web", "good").observe(http.StatusTeapot, time.Millisecond)
	srv := httptest.NewServer(prometheusHandler(newRegistry(m)))
	defer srv.Close()
	families := scrape(t, srv.URL)
	if n, ok := sample(families["durable_router_requests_total"], map[string]string{"service": "web", "set": "good", "code": "418"}); !ok || n != 1 {
		t.Errorf("good set's 418s: %g (present: %v)", n, ok)
	}
	if len(families["durable_router_requests_total"].GetMetric()) != 1 {
		t.Errorf("series: %v", families["durable_router_requests_total"])
	}
}

// Requests are counted by status code and latency, the histogram's buckets
// cumulative as Prometheus reads them, its sum the latencies'.
func TestPrometheusHistogramAndCodes(t *testing.T) {
	m := newMetrics()
	c := m.of("web", "a")
	for _, r := range []struct {
		code int
		took time.Duration
	}{{200, time.Millisecond}, {200, 30 * time.Millisecond}, {503, 2 * time.Second}, {999, time.Hour}, {-1, 0}} {
		c.observe(r.code, r.took)
	}
	srv := httptest.NewServer(prometheusHandler(newRegistry(m)))
	defer srv.Close()
	families := scrape(t, srv.URL)
	for code, want := range map[string]float64{"200": 2, "503": 1, "999": 1, "0": 1} {
		if n, ok := sample(families["durable_router_requests_total"], map[string]string{"service": "web", "set": "a", "code": code}); !ok || n != want {
			t.Errorf("code %s: %g (present: %v), want %g", code, n, ok, want)
		}
	}
	h := families["durable_router_request_duration_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 5 || math.Abs(h.GetSampleSum()-(3600+2+0.031)) > 1e-6 {
		t.Errorf("histogram count %d sum %g", h.GetSampleCount(), h.GetSampleSum())
	}
	wantCumulative := map[float64]uint64{0.005: 2, 0.01: 2, 0.025: 2, 0.05: 3, 1: 3, 2.5: 4, 10: 4}
	for _, b := range h.GetBucket() {
		if want, ok := wantCumulative[b.GetUpperBound()]; ok && b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%g: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
}

// scrape GETs url and parses the exposition as Prometheus does.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, body)
	}
	return families
}

// sample returns the value of f's series with exactly labels (a
// histogram's count).
func sample(f *dto.MetricFamily, labels map[string]string) (float64, bool) {
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if !maps.Equal(got, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// BenchmarkObserve is what counting one request costs the proxy's hot path,
// from many goroutines on one set as under load.
func BenchmarkObserve(b *testing.B) {
	c := newMetrics().of("web", "a")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.observe(http.StatusOK, 3*time.Millisecond)
		}
	})
}
