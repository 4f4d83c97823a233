package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// newMetrics returns metrics registered on a registry of their own, fed
// through a real journal, and that journal.
func newMetrics(t *testing.T, src MetricsSources) (*Metrics, *prometheus.Registry, journal.Store) {
	t.Helper()
	st, err := journal.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if src.Status == nil {
		src.Status = &journalOnly{st: st}
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, src)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg, journal.Observed(st, m)
}

// rolloutStory is one rollout's puts, as the reconciler makes them.
type rolloutStory struct {
	service, stage string
	from           string
	rollback       bool
	// steps are the canary steps' lengths; end is the final phase,
	// reached end after the last step (or the start).
	steps []time.Duration
	end   api.RolloutPhase
	last  time.Duration
}

func (s rolloutStory) put(t *testing.T, st journal.Store) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := journal.Rollout{ID: s.service + "/" + s.stage + "/t/rel", Service: s.service, Stage: s.stage, Target: "t", Release: "rel",
		FromRelease: s.from, Rollback: s.rollback, Phase: api.RolloutCreating, StartedAt: at, UpdatedAt: at}
	if s.rollback {
		r.Phase = api.RolloutSwitching
	}
	if err := st.PutRollout(ctx, r); err != nil {
		t.Fatal(err)
	}
	for _, d := range s.steps {
		r.Phase, r.Step, r.StepStartedAt = api.RolloutCanary, r.Step+1, at
		at = at.Add(d)
		if err := st.PutRollout(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	r.Phase, r.UpdatedAt = s.end, at.Add(s.last)
	if err := st.PutRollout(ctx, r); err != nil {
		t.Fatal(err)
	}
	// Put again done (a crash before the next write, say): not counted twice.
	if err := st.PutRollout(ctx, r); err != nil {
		t.Fatal(err)
	}
}

// The counters follow what the journal made durable, each thing once.
func TestMetricsCountWhatTheJournalRecords(t *testing.T) {
	_, reg, st := newMetrics(t, MetricsSources{})
	ctx := context.Background()
	for _, e := range []journal.Entry{
		{Kind: api.EntryRevision, Result: string(api.RevisionAccepted)},
		{Kind: api.EntryRevision, Result: string(api.RevisionRejected)},
		{Kind: api.EntryRevision, Result: string(api.RevisionRejected)},
		{Kind: api.EntryDecision, EntryPoint: "gate", Result: "allow", Took: 2 * time.Millisecond},
		{Kind: api.EntryDecision, EntryPoint: "gate", Result: "hold", Took: 3 * time.Millisecond},
		{Kind: api.EntryDecision, Result: "allow"}, // the reconciler's own rule
		{Kind: api.EntryEvent, Message: "not counted"},
	} {
		if _, err := st.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []rolloutStory{
		{service: "web", stage: "prod", steps: []time.Duration{10 * time.Second, 20 * time.Second}, end: api.RolloutSucceeded, last: 5 * time.Second},
		{service: "web", stage: "staging", from: "old", steps: []time.Duration{7 * time.Second}, end: api.RolloutFailed, last: time.Second},
		{service: "api", stage: "prod", from: "old", end: api.RolloutFailed, last: time.Minute}, // failed before any traffic: no rollback
		{service: "api", stage: "staging", from: "new", rollback: true, end: api.RolloutSucceeded, last: time.Second},
	} {
		s.put(t, st)
	}
	want := `
# HELP durable_revisions_total Revisions seen, by result: accepted (the desired state) or rejected (what runs is unchanged).
# TYPE durable_revisions_total counter
durable_revisions_total{result="accepted"} 1
durable_revisions_total{result="rejected"} 2
# HELP durable_policy_decisions_total Policy decisions journaled, by entry point (admission, gate, invariant; builtin for the reconciler's own rules) and result.
# TYPE durable_policy_decisions_total counter
durable_policy_decisions_total{entry_point="builtin",result="allow"} 1
durable_policy_decisions_total{entry_point="gate",result="allow"} 1
durable_policy_decisions_total{entry_point="gate",result="hold"} 1
# HELP durable_rollouts_total Rollouts ended, by service, stage and outcome (succeeded, failed, abandoned).
# TYPE durable_rollouts_total counter
durable_rollouts_total{outcome="failed",service="api",stage="prod"} 1
durable_rollouts_total{outcome="failed",service="api",stage="staging"} 0
durable_rollouts_total{outcome="failed",service="web",stage="prod"} 0
durable_rollouts_total{outcome="failed",service="web",stage="staging"} 1
durable_rollouts_total{outcome="succeeded",service="api",stage="staging"} 1
durable_rollouts_total{outcome="succeeded",service="web",stage="prod"} 1
# HELP durable_rollbacks_total Rollbacks, by service, stage and reason: revert (back to a warm set) or failure (a failed rollout's traffic went back).
# TYPE durable_rollbacks_total counter
durable_rollbacks_total{reason="failure",service="api",stage="prod"} 0
durable_rollbacks_total{reason="failure",service="api",stage="staging"} 0
durable_rollbacks_total{reason="failure",service="web",stage="prod"} 0
durable_rollbacks_total{reason="failure",service="web",stage="staging"} 1
durable_rollbacks_total{reason="revert",service="api",stage="prod"} 0
durable_rollbacks_total{reason="revert",service="api",stage="staging"} 1
durable_rollbacks_total{reason="revert",service="web",stage="prod"} 0
durable_rollbacks_total{reason="revert",service="web",stage="staging"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"durable_revisions_total", "durable_policy_decisions_total", "durable_rollouts_total", "durable_rollbacks_total"); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		count  uint64
		sum    float64
	}{
		{"durable_policy_decision_duration_seconds", map[string]string{"entry_point": "gate"}, 2, 0.005},
		{"durable_rollout_duration_seconds", map[string]string{"stage": "prod", "outcome": "succeeded"}, 1, 35},
		{"durable_rollout_duration_seconds", map[string]string{"stage": "prod", "outcome": "failed"}, 1, 60},
		// web/prod's steps (10s, then 20s + 5s to the end); web/staging's (7s + 1s).
		{"durable_canary_step_duration_seconds", map[string]string{"stage": "prod"}, 2, 35},
		{"durable_canary_step_duration_seconds", map[string]string{"stage": "staging"}, 1, 8},
	} {
		h := histogram(t, reg, tc.name, tc.labels)
		if h.GetSampleCount() != tc.count || h.GetSampleSum() < tc.sum-1e-9 || h.GetSampleSum() > tc.sum+1e-9 {
			t.Errorf("%s%v: %d samples summing to %g, want %d summing to %g", tc.name, tc.labels, h.GetSampleCount(), h.GetSampleSum(), tc.count, tc.sum)
		}
	}
}

// histogram returns the histogram of name with exactly labels.
func histogram(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) *dto.Histogram {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			match := true
			for _, l := range m.GetLabel() {
				match = match && labels[l.GetName()] == l.GetValue()
			}
			if match {
				return m.GetHistogram()
			}
		}
	}
	t.Fatalf("no %s%v gathered", name, labels)
	return nil
}

func TestMetricsCountFetches(t *testing.T) {
	m, reg, _ := newMetrics(t, MetricsSources{})
	m.Fetched(300*time.Millisecond, nil)
	m.Fetched(2*time.Second, errors.New("remote hung up"))
	if n := testutil.ToFloat64(m.fetchErrors); n != 1 {
		t.Errorf("fetch errors %g, want 1", n)
	}
	if h := histogram(t, reg, "durable_source_fetch_duration_seconds", nil); h.GetSampleCount() != 2 || h.GetSampleSum() != 2.3 {
		t.Errorf("fetch durations: %d summing to %g, want 2 summing to 2.3", h.GetSampleCount(), h.GetSampleSum())
	}
}

// hostile is a service name that would break a hand-written exposition.
const hostile = "we\"b\n} 1\nforged{a=\"b\\"

// The present is read from status at each scrape, over HTTP as Prometheus
// reads it; a hostile name is escaped, and parses back to itself.
func TestMetricsOfThePresentAreReadFromStatus(t *testing.T) {
	started := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	status := &fixedStatus{st: api.Status{Services: []api.ServiceStatus{{Name: hostile,
		Stages: []api.StageView{{Name: "prod", Serving: map[string]string{"t1": "rel-new", "t2": ""}}},
		Placements: []api.PlacementStatus{{Stage: "prod", Target: "t1",
			Split: &api.Split{Backends: []api.Backend{{Set: "s-old", Weight: 75}, {Set: "s-new", Weight: 25}, {Set: "s-new", Weight: 25}}},
			Rollout: &api.Rollout{Release: "rel-next", Phase: api.RolloutCanary, StartedAt: started,
				StepStartedAt: started.Add(time.Minute), CheckStartedAt: started.Add(30 * time.Second)}}},
	}}}}
	_, reg, _ := newMetrics(t, MetricsSources{Status: status, JournalSize: func() (int64, error) { return 4096, nil }})
	srv := httptest.NewServer(WithMetrics(http.NotFoundHandler(), MetricsHandler(reg)))
	defer srv.Close()
	// The first scrape that sees a stage makes its counters; the next
	// exports them at zero.
	scrape(t, srv.URL+"/metrics")
	got := scrape(t, srv.URL+"/metrics")
	want := map[string]float64{
		`durable_stage_release_info{release="rel-new",service="` + hostile + `",stage="prod",target="t1"}`:                  1,
		`durable_traffic_weight_ratio{service="` + hostile + `",set="s-old",stage="prod",target="t1"}`:                      0.75,
		`durable_traffic_weight_ratio{service="` + hostile + `",set="s-new",stage="prod",target="t1"}`:                      0.25,
		`durable_rollout_started_timestamp_seconds{release="rel-next",service="` + hostile + `",stage="prod",target="t1"}`:  float64(started.Unix()),
		`durable_rollout_progress_timestamp_seconds{release="rel-next",service="` + hostile + `",stage="prod",target="t1"}`: float64(started.Unix() + 60),
		`durable_rollouts_total{outcome="failed",service="` + hostile + `",stage="prod"}`:                                   0,
		`durable_rollbacks_total{reason="revert",service="` + hostile + `",stage="prod"}`:                                   0,
		`durable_journal_size_bytes`:                 4096,
		`durable_revisions_total{result="rejected"}`: 0,
	}
	for series, v := range want {
		if g, ok := got[series]; !ok || g != v {
			t.Errorf("%s = %g (present: %v), want %g", series, g, ok, v)
		}
	}
	for series := range got {
		if strings.HasPrefix(series, "durable_stage_release_info") && strings.Contains(series, `target="t2"`) || strings.HasPrefix(series, "forged") {
			t.Errorf("scraped %s", series)
		}
	}
	// A rollout that ended has no series of the present.
	status.st.Services[0].Placements[0].Rollout.Phase = api.RolloutSucceeded
	for series := range scrape(t, srv.URL+"/metrics") {
		if strings.HasPrefix(series, "durable_rollout_started_timestamp_seconds") {
			t.Errorf("scraped %s of a rollout that ended", series)
		}
	}
}

// A status or a journal size that cannot be read leaves its series out; the
// others are served.
func TestMetricsServeWhatCanBeRead(t *testing.T) {
	status := &fixedStatus{err: errors.New("journal closed")}
	m, reg, _ := newMetrics(t, MetricsSources{Status: status, JournalSize: func() (int64, error) { return 0, errors.New("stat journal.db: gone") }})
	m.Fetched(time.Second, nil)
	srv := httptest.NewServer(MetricsHandler(reg))
	defer srv.Close()
	got := scrape(t, srv.URL)
	if _, ok := got["durable_source_fetch_duration_seconds_count"]; !ok {
		t.Errorf("fetch durations missing from %v", got)
	}
	for series := range got {
		if strings.HasPrefix(series, "durable_journal_size_bytes") || strings.HasPrefix(series, "durable_stage_release_info") {
			t.Errorf("scraped %s without a journal or a status", series)
		}
	}
}

// The names follow Prometheus' conventions, as promlint checks them.
func TestMetricNamesLint(t *testing.T) {
	m, reg, st := newMetrics(t, MetricsSources{Status: inFlight(), JournalSize: func() (int64, error) { return 1, nil }})
	feedEverySeries(t, m, st)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(families).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// feedEverySeries makes every series of the reconciler's metrics exist.
func feedEverySeries(t *testing.T, m *Metrics, st journal.Store) {
	t.Helper()
	ctx := context.Background()
	for _, e := range []journal.Entry{{Kind: api.EntryRevision, Result: "accepted"}, {Kind: api.EntryDecision, EntryPoint: "gate", Result: "allow"}} {
		if _, err := st.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	rolloutStory{service: "web", stage: "prod", from: "old", steps: []time.Duration{time.Second}, end: api.RolloutFailed}.put(t, st)
	m.Fetched(time.Second, errors.New("unreachable"))
}

// MetricNames lists the names of every series the reconciler's metrics
// export, for the example alert rules' test.
func TestMetricNamesListsEveryFamily(t *testing.T) {
	m, reg, st := newMetrics(t, MetricsSources{Status: inFlight(), JournalSize: func() (int64, error) { return 1, nil }})
	feedEverySeries(t, m, st)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, n := range MetricNames() {
		names[n] = true
	}
	for _, f := range families {
		if !names[f.GetName()] {
			t.Errorf("%s is exported but not in MetricNames", f.GetName())
		}
		delete(names, f.GetName())
	}
	for n := range names {
		t.Errorf("%s is in MetricNames but never exported", n)
	}
}

// inFlight is the status of one service with a rollout in flight.
func inFlight() *fixedStatus {
	return &fixedStatus{st: api.Status{Services: []api.ServiceStatus{{Name: "web",
		Stages: []api.StageView{{Name: "prod", Serving: map[string]string{"t": "rel-1"}}},
		Placements: []api.PlacementStatus{{Stage: "prod", Target: "t", Split: &api.Split{Backends: []api.Backend{{Set: "s", Weight: 100}}},
			Rollout: &api.Rollout{Release: "rel-2", Phase: api.RolloutCreating, StartedAt: time.Now()}}},
	}}}}
}

type fixedStatus struct {
	st  api.Status
	err error
}

func (f *fixedStatus) Status(context.Context) (api.Status, error) { return f.st, f.err }

// scrape GETs url and parses the text exposition as Prometheus does:
// series (name and sorted labels, as the text format writes them) → value.
func scrape(t *testing.T, url string) map[string]float64 {
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
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			series := name
			if len(labels) > 0 {
				series += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Gauge != nil:
				out[series] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[series] = m.GetCounter().GetValue()
			case m.Histogram != nil:
				out[series+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// A name that is not UTF-8, which Prometheus cannot carry, is left out: the
// journal's writer does not panic, and the scrape serves the rest.
func TestMetricsLeaveOutWhatCannotBeExposed(t *testing.T) {
	status := inFlight()
	status.st.Services = append(status.st.Services, api.ServiceStatus{Name: "bad\xff",
		Stages: []api.StageView{{Name: "prod", Serving: map[string]string{"t": "rel"}}}})
	_, reg, st := newMetrics(t, MetricsSources{Status: status})
	rolloutStory{service: "bad\xff", stage: "prod", from: "old", steps: []time.Duration{time.Second}, end: api.RolloutFailed}.put(t, st)
	rolloutStory{service: "web", stage: "prod", end: api.RolloutSucceeded}.put(t, st)
	srv := httptest.NewServer(MetricsHandler(reg))
	defer srv.Close()
	got := scrape(t, srv.URL)
	for _, series := range []string{`durable_rollouts_total{outcome="succeeded",service="web",stage="prod"}`,
		`durable_stage_release_info{release="rel-1",service="web",stage="prod",target="t"}`} {
		if _, ok := got[series]; !ok {
			t.Errorf("%s missing beside a name that is not UTF-8", series)
		}
	}
	for series := range got {
		if strings.Contains(series, "bad") {
			t.Errorf("scraped %q", series)
		}
	}
}
