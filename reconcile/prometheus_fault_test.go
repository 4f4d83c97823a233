package reconcile

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/hangtest"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/reconcile/analysis"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/source"
)

// promFaultQueries are two queries: with a hung Prometheus, the second is
// not asked once the first timed out.
var promFaultQueries = []schema.PromQuery{
	{Name: "errors", Query: `rate(errors{set="{{.Set}}"}[1m])`, Max: 1},
	{Name: "latency", Query: `latency{set="{{.Set}}"}`, Max: 1},
}

// judgeOn runs the Prometheus signals against the Prometheus at address,
// with promTimeout shortened to 300 ms, and returns them with the time taken;
// it fails the test unless Prometheus's failure is given for status.
func judgeOn(t *testing.T, address string, queries []schema.PromQuery) (map[string]string, string, time.Duration) {
	t.Helper()
	saved := promTimeout
	promTimeout = 300 * time.Millisecond // 5 s in production
	t.Cleanup(func() { promTimeout = saved })
	pa := &schema.PrometheusAnalysis{Address: address, Queries: queries}
	p := placement{service: schema.Service{Name: "web"}, stage: "s", target: schema.Target{Name: "t"}}
	start := time.Now()
	signals, verdict, failed := promSignals(context.Background(), pa, p, journal.InfraSet{ID: "web-b"}, journal.InfraSet{ID: "web-a"})
	took := time.Since(start)
	if failed == nil {
		t.Errorf("Prometheus at %s did not answer, and no failure is given for status", address)
	}
	byName := map[string]string{}
	for _, s := range signals {
		byName[s.Name] = s.Verdict
	}
	t.Logf("after %s: %s %v", took.Round(time.Millisecond), verdict, byName)
	return byName, verdict, took
}

// TestPrometheusHungOrDownIsInconclusive: a Prometheus that accepts and
// never answers, or one nothing listens for, makes every query
// inconclusive — never a pass — within one promTimeout, not one per query.
func TestPrometheusHungOrDownIsInconclusive(t *testing.T) {
	for name, addr := range map[string]string{"hung": hangtest.FakeHungTCP(t), "down": hangtest.FakeDownTCP(t)} {
		t.Run(name, func(t *testing.T) {
			signals, verdict, took := judgeOn(t, "http://"+addr, promFaultQueries)
			if verdict != analysis.Inconclusive || signals["errors"] != analysis.Inconclusive || signals["latency"] != analysis.Inconclusive {
				t.Errorf("verdict %s, signals %v; want every one inconclusive", verdict, signals)
			}
			if took > 500*time.Millisecond {
				t.Errorf("took %s; want one promTimeout (300ms), not one per query", took)
			}
		})
	}
}

// TestPrometheusRefusingAQueryAsksTheNext: a query Prometheus answers with
// an error is inconclusive, and the next query is still asked.
func TestPrometheusRefusingAQueryAsksTheNext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.Form.Get("query"), "rate(") {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"parse error"}`))
			return
		}
		w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.5"]}]}}`))
	}))
	t.Cleanup(srv.Close)
	signals, verdict, _ := judgeOn(t, srv.URL, promFaultQueries)
	if verdict != analysis.Inconclusive || signals["errors"] != analysis.Inconclusive || signals["latency"] != analysis.Pass {
		t.Errorf("verdict %s, signals %v; want errors inconclusive, latency a pass (0.5 ≤ 1), the whole inconclusive", verdict, signals)
	}
}

// TestPrometheusHungIsLeftForANewerRevision: a canary's queries to a hung
// Prometheus end as soon as a newer revision arrives, inconclusive, instead
// of holding the pass (and a revert behind it) for the whole promTimeout.
func TestPrometheusHungIsLeftForANewerRevision(t *testing.T) {
	r := &Reconciler{}
	r.inbox.take() // a commit was taken: the next other one is newer
	ctx, cancel := r.untilNewer(context.Background())
	defer cancel()
	pa := &schema.PrometheusAnalysis{Address: "http://" + hangtest.FakeHungTCP(t), Queries: promFaultQueries}
	p := placement{service: schema.Service{Name: "web"}, stage: "s", target: schema.Target{Name: "t"}}
	done := make(chan string)
	go func() {
		_, verdict, _ := promSignals(ctx, pa, p, journal.InfraSet{ID: "web-b"}, journal.InfraSet{ID: "web-a"})
		done <- verdict
	}()
	select {
	case v := <-done:
		t.Fatalf("the queries to a hung Prometheus ended (%s) before any revision arrived", v)
	case <-time.After(100 * time.Millisecond):
	}
	r.inbox.put(snapshotResult{snap: source.Snapshot{Commit: "c2"}})
	select {
	case v := <-done:
		if v != analysis.Inconclusive {
			t.Fatalf("verdict %s; want inconclusive", v)
		}
	case <-time.After(promTimeout - time.Second):
		t.Fatalf("the queries still hang after a newer revision arrived")
	}
}
