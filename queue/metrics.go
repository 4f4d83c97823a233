package queue

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the queue's Prometheus metrics: proposals landed, ejected by
// reason, the time each spent in the queue, and how many wait now (read
// from the store at each scrape).
type Metrics struct {
	landed  prometheus.Counter
	ejected *prometheus.CounterVec
	waited  *prometheus.HistogramVec
}

// MetricNames are the metrics' names, for alert rules and dashboards.
func MetricNames() []string {
	return []string{"durable_queue_landed_total", "durable_queue_ejected_total", "durable_queue_time_in_queue_seconds", "durable_queue_proposals"}
}

// NewMetrics registers the queue's metrics on reg; the gauge of
// proposals by state reads st at each scrape.
func NewMetrics(reg prometheus.Registerer, st *Store) (*Metrics, error) {
	m := &Metrics{
		landed: prometheus.NewCounter(prometheus.CounterOpts{Name: "durable_queue_landed_total",
			Help: "Proposals landed on main by this queue process."}),
		ejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "durable_queue_ejected_total",
			Help: "Proposals ejected by this queue process, by reason."}, []string{"reason"}),
		waited: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "durable_queue_time_in_queue_seconds",
			Help:    "Time from a proposal's addition to its landing or ejection.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14)}, []string{"outcome"}),
	}
	for _, r := range []Reason{ReasonSignature, ReasonInvalid, ReasonPolicyTest, ReasonAdmission, ReasonConflict, ReasonCheck, ReasonBranch} {
		m.ejected.WithLabelValues(string(r))
	}
	for _, c := range []prometheus.Collector{m.landed, m.ejected, m.waited, stateCollector{st}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Observe counts a proposal that ended: Config.Observe.
func (m *Metrics) Observe(p Proposal) {
	switch p.State {
	case Landed:
		m.landed.Inc()
	case Ejected:
		m.ejected.WithLabelValues(string(p.Reason)).Inc()
	default:
		return
	}
	m.waited.WithLabelValues(string(p.State)).Observe(p.Since.Sub(p.Added).Seconds())
}

// stateCollector counts the proposals kept by state at each scrape.
type stateCollector struct{ st *Store }

var proposalsDesc = prometheus.NewDesc("durable_queue_proposals", "Proposals kept in the queue's state, by state.", []string{"state"}, nil)

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- proposalsDesc }

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	ps, err := c.st.List()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(proposalsDesc, err)
		return
	}
	counts := map[State]int{Queued: 0, Validating: 0, Landing: 0, Landed: 0, Ejected: 0, Removed: 0}
	for _, p := range ps {
		counts[p.State]++
	}
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(proposalsDesc, prometheus.GaugeValue, float64(n), string(s))
	}
}
