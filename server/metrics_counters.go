package server

import (
	"maps"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// serviceCounters is a counter family by service, stage and one label more
// (an outcome, a reason), kept as plain counts and turned into series at
// scrape time. A CounterVec keeps a counter, its label pairs and its hash
// per series, 600 bytes; at 10,000 services its per-service series were
// 30 MB of the reconciler's heap, these are a sixth of it.
type serviceCounters struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	counts map[[3]string]uint64
}

func newServiceCounters(name, help, label string) *serviceCounters {
	return &serviceCounters{desc: prometheus.NewDesc(name, help, []string{"service", "stage", label}, nil), counts: map[[3]string]uint64{}}
}

// add counts one.
func (c *serviceCounters) add(service, stage, label string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[[3]string{service, stage, label}]++
}

// zero makes the series exist, at zero when it was not counted yet.
func (c *serviceCounters) zero(service, stage, label string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [3]string{service, stage, label}
	c.counts[k] += 0
}

func (c *serviceCounters) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect exports every series; one whose labels Prometheus cannot carry
// (not UTF-8) is left out, as inc leaves it uncounted.
// The counts are copied first: the journal's writer never waits on a scrape.
func (c *serviceCounters) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	counts := maps.Clone(c.counts)
	c.mu.Unlock()
	for k, v := range counts {
		if m, err := prometheus.NewConstMetric(c.desc, prometheus.CounterValue, float64(v), k[0], k[1], k[2]); err == nil {
			ch <- m
		}
	}
}
