package queue

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The metrics count what the runner reports as it ends proposals (a
// landing, an admission ejection), observe their time in the queue, and
// read the proposals kept by state from the store at each scrape.
func TestMetricsCountWhatTheQueueDid(t *testing.T) {
	r := newDesiredRepo(t, 2)
	r.propose(t, "queue/1-ok", map[string]string{"release.cue": releaseFile(2, map[int]int{0: 1})})
	r.propose(t, "queue/2-scale", map[string]string{"service.cue": strings.Replace(servicesFile(2), "replicas: 2", "replicas: 9", 1)})
	st, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, st)
	if err != nil {
		t.Fatal(err)
	}
	run, err := NewRunner(Config{Repo: r.bare, Store: st, Observe: m.Observe})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Add("waiting", strings.Repeat("cd", 20), time.Now()); err != nil {
		t.Fatal(err)
	}
	drain(t, run)
	want := `
# HELP durable_queue_ejected_total Proposals ejected by this queue process, by reason.
# TYPE durable_queue_ejected_total counter
durable_queue_ejected_total{reason="admission"} 1
durable_queue_ejected_total{reason="branch"} 1
durable_queue_ejected_total{reason="check"} 0
durable_queue_ejected_total{reason="conflict"} 0
durable_queue_ejected_total{reason="invalid"} 0
durable_queue_ejected_total{reason="policy-test"} 0
durable_queue_ejected_total{reason="signature"} 0
# HELP durable_queue_landed_total Proposals landed on main by this queue process.
# TYPE durable_queue_landed_total counter
durable_queue_landed_total 1
# HELP durable_queue_proposals Proposals kept in the queue's state, by state.
# TYPE durable_queue_proposals gauge
durable_queue_proposals{state="ejected"} 2
durable_queue_proposals{state="landed"} 1
durable_queue_proposals{state="landing"} 0
durable_queue_proposals{state="queued"} 0
durable_queue_proposals{state="removed"} 0
durable_queue_proposals{state="validating"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "durable_queue_ejected_total", "durable_queue_landed_total", "durable_queue_proposals"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "durable_queue_time_in_queue_seconds"); n != 2 {
		t.Fatalf("time in queue has %d series, want landed and ejected", n)
	}
	for _, name := range MetricNames() {
		if testutil.CollectAndCount(reg, name) == 0 {
			t.Errorf("MetricNames lists %s, which is not registered", name)
		}
	}
}
