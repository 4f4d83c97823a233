package server

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/durable-delivery/durable/api"
)

// Metrics are the reconciler's Prometheus metrics. Counters are by service;
// histograms by stage only: a histogram per service is a dozen series per
// service, and at 10,000 services they were 40 MB of the reconciler's heap
// (and as many series for Prometheus). What happened (revisions,
// decisions, rollouts, rollbacks, fetches) is counted as it happens: from
// the journal's records as they are made durable (Metrics is a journal
// observer: Appended, RolloutPut) and from the source (Fetched). What is
// true now (the release each stage serves, traffic weights, rollouts in
// flight, the journal's size) is read at scrape time from the reconciler's
// status (see presentCollector), so that it can never drift from what
// durable status shows.
type Metrics struct {
	revisions       *prometheus.CounterVec
	decisions       *prometheus.CounterVec
	decisionSeconds *prometheus.HistogramVec
	rollouts        *serviceCounters
	rolloutSeconds  *prometheus.HistogramVec
	stepSeconds     *prometheus.HistogramVec
	rollbacks       *serviceCounters
	fetchSeconds    prometheus.Histogram
	fetchErrors     prometheus.Counter
}

// Reasons of a rollback, as durable_rollbacks_total counts them.
const (
	// RollbackRevert: the desired state went back to a release a warm set
	// runs, and traffic switched back to it.
	RollbackRevert = "revert"
	// RollbackFailure: a rollout failed after its new set took traffic,
	// which went back to the set that served before.
	RollbackFailure = "failure"
)

// StatusReader is what the metrics read at scrape time.
type StatusReader interface {
	Status(ctx context.Context) (api.Status, error)
}

// MetricsSources are what the metrics read at scrape time.
type MetricsSources struct {
	// Status is the reconciler's.
	Status StatusReader
	// JournalSize returns the size of the journal in bytes; nil when the
	// journal has no size to tell.
	JournalSize func() (int64, error)
}

// NewMetrics registers the reconciler's metrics on reg. Revisions' results
// are known in advance and start at zero, so that the first rejection is an
// increase Prometheus sees.
func NewMetrics(reg prometheus.Registerer, src MetricsSources) (*Metrics, error) {
	m := &Metrics{
		revisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "durable_revisions_total",
			Help: "Revisions seen, by result: accepted (the desired state) or rejected (what runs is unchanged)."}, []string{"result"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "durable_policy_decisions_total",
			Help: "Policy decisions journaled, by entry point (admission, gate, invariant; builtin for the reconciler's own rules) and result."},
			[]string{"entry_point", "result"}),
		decisionSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "durable_policy_decision_duration_seconds",
			Help:    "Time the policies took to answer a journaled decision, by entry point.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9)}, []string{"entry_point"}),
		rollouts: newServiceCounters("durable_rollouts_total",
			"Rollouts ended, by service, stage and outcome (succeeded, failed, abandoned).", "outcome"),
		rolloutSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "durable_rollout_duration_seconds",
			Help:    "Time from a rollout's start to its end, by stage and outcome.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400}},
			[]string{"stage", "outcome"}),
		stepSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "durable_canary_step_duration_seconds",
			Help:    "Time a canary step lasted (its bake and analysis), from its start to the next step or the rollout's end, by stage.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200}}, []string{"stage"}),
		rollbacks: newServiceCounters("durable_rollbacks_total",
			"Rollbacks, by service, stage and reason: revert (back to a warm set) or failure (a failed rollout's traffic went back).", "reason"),
		fetchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "durable_source_fetch_duration_seconds",
			Help:    "Time one fetch of the desired-state repository took, failed or not.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}}),
		fetchErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "durable_source_fetch_errors_total",
			Help: "Fetches of the desired-state repository that failed."}),
	}
	for _, v := range []api.RevisionVerdict{api.RevisionAccepted, api.RevisionRejected} {
		zero(m.revisions, string(v))
	}
	for _, c := range []prometheus.Collector{m.revisions, m.decisions, m.decisionSeconds, m.rollouts, m.rolloutSeconds,
		m.stepSeconds, m.rollbacks, m.fetchSeconds, m.fetchErrors, newPresentCollector(src, m)} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// MetricNames lists the name of every series family the reconciler's
// metrics export (a test holds it to what they do), for checking what
// refers to them: alert rules, dashboards.
func MetricNames() []string {
	return []string{"durable_revisions_total", "durable_policy_decisions_total", "durable_policy_decision_duration_seconds",
		"durable_rollouts_total", "durable_rollout_duration_seconds", "durable_canary_step_duration_seconds",
		"durable_rollbacks_total", "durable_source_fetch_duration_seconds", "durable_source_fetch_errors_total",
		"durable_stage_release_info", "durable_traffic_weight_ratio", "durable_rollout_started_timestamp_seconds",
		"durable_rollout_progress_timestamp_seconds", "durable_journal_size_bytes"}
}

// MetricsHandler serves what g gathers in Prometheus' exposition format. A
// collector that fails (the status could not be read) leaves its series
// out and the rest are served.
func MetricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// WithMetrics serves GET /metrics from metrics (MetricsHandler) and every
// other call from api (Handler). The guard in front of both treats /metrics
// as any read.
func WithMetrics(api, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.Handle("/", api)
	return mux
}

// Appended counts a journal entry: a revision's verdict, a decision.
func (m *Metrics) Appended(e api.Entry) {
	switch e.Kind {
	case api.EntryRevision:
		inc(m.revisions, e.Result)
	case api.EntryDecision:
		entryPoint := e.EntryPoint
		if entryPoint == "" {
			entryPoint = "builtin"
		} else {
			observe(m.decisionSeconds, e.Took.Seconds(), entryPoint)
		}
		inc(m.decisions, entryPoint, e.Result)
	}
}

// RolloutPut counts a rollout's change: its end, with its duration; the end
// of a canary step, with its; a rollback.
func (m *Metrics) RolloutPut(before *api.Rollout, after api.Rollout) {
	started := before == nil || before.Done() && !after.Done()
	if started {
		m.prime(after.Service, after.Stage)
		if after.Rollback {
			m.rollbacks.add(after.Service, after.Stage, RollbackRevert)
		}
	}
	if before != nil && !before.Done() && before.Step > 0 && !before.StepStartedAt.IsZero() {
		switch {
		case after.Step > before.Step && !after.StepStartedAt.IsZero():
			observe(m.stepSeconds, after.StepStartedAt.Sub(before.StepStartedAt).Seconds(), after.Stage)
		case after.Done():
			observe(m.stepSeconds, after.UpdatedAt.Sub(before.StepStartedAt).Seconds(), after.Stage)
		}
	}
	if !after.Done() || before != nil && before.Done() {
		return
	}
	outcome := string(after.Phase)
	m.rollouts.add(after.Service, after.Stage, outcome)
	if !after.StartedAt.IsZero() && !after.UpdatedAt.Before(after.StartedAt) {
		observe(m.rolloutSeconds, after.UpdatedAt.Sub(after.StartedAt).Seconds(), after.Stage, outcome)
	}
	tookTraffic := before != nil && (before.Step > 0 || before.Phase == api.RolloutSwitching)
	if after.Phase == api.RolloutFailed && after.FromRelease != "" && tookTraffic {
		m.rollbacks.add(after.Service, after.Stage, RollbackFailure)
	}
}

// Fetched counts one fetch of the repository.
func (m *Metrics) Fetched(took time.Duration, err error) {
	m.fetchSeconds.Observe(took.Seconds())
	if err != nil {
		m.fetchErrors.Inc()
	}
}

// prime makes a stage's rollout-failed and rollback series exist at zero,
// so that the first of them is an increase Prometheus sees (a series that
// appears at 1 shows none), for the alerts on them. The other outcomes are
// not primed: each series is memory, and at 10,000 services five per stage
// were 30 MB.
func (m *Metrics) prime(service, stage string) {
	m.rollouts.zero(service, stage, string(api.RolloutFailed))
	for _, reason := range []string{RollbackRevert, RollbackFailure} {
		m.rollbacks.zero(service, stage, reason)
	}
}

// inc adds one to the counter of labels. A label value Prometheus cannot
// expose (not UTF-8) is not counted: the journal's writer never panics
// for a metric.
func inc(v *prometheus.CounterVec, labels ...string) {
	if c, err := v.GetMetricWithLabelValues(labels...); err == nil {
		c.Inc()
	}
}

// zero makes the counter of labels, at zero, as inc counts.
func zero(v *prometheus.CounterVec, labels ...string) {
	_, _ = v.GetMetricWithLabelValues(labels...)
}

// observe records x in the histogram of labels, as inc counts.
func observe(v *prometheus.HistogramVec, x float64, labels ...string) {
	if h, err := v.GetMetricWithLabelValues(labels...); err == nil {
		h.Observe(x)
	}
}
