package reconcile

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/reconcile/analysis"
	"github.com/durable-delivery/durable/schema"
)

// fakePrometheus answers /api/v1/query as Prometheus's HTTP API does: the
// canary's query (the one naming set "new") with status and data as
// given, every other query with a good sample. It stands in for a
// Prometheus server, which this machine does not run in unit tests.
func fakePrometheus(t *testing.T, code int, canaryBody string) string {
	t.Helper()
	good := `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.001"]}]}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.URL.Path != "/api/v1/query" {
			http.Error(w, fmt.Sprintf("fake prometheus: %s %v", r.URL.Path, err), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if !strings.Contains(r.Form.Get("query"), `set="new"`) {
			fmt.Fprint(w, good)
			return
		}
		w.WriteHeader(code)
		fmt.Fprint(w, canaryBody)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestPrometheusSignalWithoutDataIsNeverAPass: a query that gives the
// canary no sample (an empty vector: not scraped yet), NaN (a rate of
// nothing) or an error is inconclusive, never a pass; a sample above max
// fails and one within it passes.
func TestPrometheusSignalWithoutDataIsNeverAPass(t *testing.T) {
	vector := func(v string) string {
		return `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"set":"new"},"value":[1700000000,"` + v + `"]}]}}`
	}
	for _, tc := range []struct {
		name string
		code int
		body string
		want string
	}{
		{"a sample within max", http.StatusOK, vector("0.01"), analysis.Pass},
		{"a sample above max", http.StatusOK, vector("0.2"), analysis.Fail},
		{"a scalar above max", http.StatusOK, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"0.2"]}}`, analysis.Fail},
		{"no samples", http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[]}}`, analysis.Inconclusive},
		{"NaN", http.StatusOK, vector("NaN"), analysis.Inconclusive},
		{"an error status", http.StatusBadRequest, `{"status":"error","errorType":"bad_data","error":"parse error"}`, analysis.Inconclusive},
		{"a server error", http.StatusServiceUnavailable, `{"status":"error","errorType":"unavailable","error":"overloaded"}`, analysis.Inconclusive},
	} {
		pa := &schema.PrometheusAnalysis{Address: fakePrometheus(t, tc.code, tc.body),
			Queries: []schema.PromQuery{{Name: "5xx-ratio", Query: `ratio{set="{{.Set}}"}`, Max: 0.1}}}
		p := placement{service: schema.Service{Name: "web"}, stage: "s", target: schema.Target{Name: "t"}}
		signals, verdict, failed := promSignals(context.Background(), pa, p, journal.InfraSet{ID: "new"}, journal.InfraSet{ID: "old"})
		if verdict != tc.want || len(signals) != 1 || signals[0].Verdict != tc.want {
			t.Errorf("%s: verdict %s, signals %+v, want %s", tc.name, verdict, signals, tc.want)
		}
		// What Prometheus refused is a failure for status; no data is not.
		if refused := tc.code != http.StatusOK; (failed != nil) != refused {
			t.Errorf("%s: failure for status %v", tc.name, failed)
		}
	}
}
