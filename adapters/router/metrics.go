package router

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// latencyBounds are the upper bounds, in seconds, of the latency histogram,
// +Inf last as in Prometheus.
var latencyBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, math.Inf(1)}

// setCounters are the counters of one infra-set, kept for as long as the
// router runs (a set that leaves and comes back keeps counting).
type setCounters struct {
	requests     atomic.Uint64
	serverErrors atomic.Uint64
	inFlight     atomic.Int64
	buckets      []atomic.Uint64 // one per latencyBounds entry
}

// SetStats is what the admin API reports for one infra-set.
type SetStats struct {
	adapters.SetMetrics
	InFlight int64 `json:"inFlight"`
}

type metrics struct {
	mu   sync.Mutex
	sets map[string]map[string]*setCounters // service → set → counters
}

func newMetrics() *metrics { return &metrics{sets: map[string]map[string]*setCounters{}} }

// of returns the counters of a set, creating them on first use.
func (m *metrics) of(service, set string) *setCounters {
	m.mu.Lock()
	defer m.mu.Unlock()
	bySet := m.sets[service]
	if bySet == nil {
		bySet = map[string]*setCounters{}
		m.sets[service] = bySet
	}
	c := bySet[set]
	if c == nil {
		c = &setCounters{buckets: make([]atomic.Uint64, len(latencyBounds))}
		bySet[set] = c
	}
	return c
}

func (c *setCounters) observe(status int, took time.Duration) {
	c.requests.Add(1)
	if status >= 500 {
		c.serverErrors.Add(1)
	}
	secs := took.Seconds()
	for i, le := range latencyBounds {
		if secs <= le {
			c.buckets[i].Add(1)
		}
	}
}

func (c *setCounters) stats() SetStats {
	s := SetStats{InFlight: c.inFlight.Load()}
	s.Requests = c.requests.Load()
	s.ServerErrors = c.serverErrors.Load()
	for i, le := range latencyBounds {
		s.LatencyBuckets = append(s.LatencyBuckets, adapters.LatencyBucket{UpperBound: le, Count: c.buckets[i].Load()})
	}
	return s
}

func (m *metrics) snapshot() map[string]map[string]SetStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]map[string]SetStats, len(m.sets))
	for svc, bySet := range m.sets {
		out[svc] = make(map[string]SetStats, len(bySet))
		for id, c := range bySet {
			out[svc][id] = c.stats()
		}
	}
	return out
}
