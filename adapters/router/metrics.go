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
// router runs (a set that leaves and comes back keeps counting). They are
// the one record both the admin API's JSON and Prometheus' exposition are
// read from; a request costs a few atomic adds on them, and no lookup.
type setCounters struct {
	requests     atomic.Uint64
	serverErrors atomic.Uint64
	inFlight     atomic.Int64
	// buckets count each request once, in the first bucket of
	// latencyBounds that holds it: the cumulative counts are summed when
	// read, so that a request costs one add, not one per bucket.
	buckets []atomic.Uint64
	// latencyNanos is the sum of the requests' latencies.
	latencyNanos atomic.Int64
	// codes count the requests by status code: codes[c/100][c%100], each
	// hundred made the first time one of its codes is answered.
	codes [10]atomic.Pointer[[100]atomic.Uint64]
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
	i := 0
	for secs > latencyBounds[i] { // the last bound, +Inf, holds every request
		i++
	}
	c.buckets[i].Add(1)
	c.latencyNanos.Add(int64(took))
	c.code(status).Add(1)
}

// code returns the counter of a status code. http.ResponseWriter refuses a
// code outside 100–999; one would count as 0.
func (c *setCounters) code(status int) *atomic.Uint64 {
	if status < 0 || status > 999 {
		status = 0
	}
	hundred := &c.codes[status/100]
	counts := hundred.Load()
	if counts == nil {
		hundred.CompareAndSwap(nil, new([100]atomic.Uint64))
		counts = hundred.Load()
	}
	return &counts[status%100]
}

// byCode returns the requests counted by status code, the codes none
// answered left out.
func (c *setCounters) byCode() map[int]uint64 {
	out := map[int]uint64{}
	for h := range c.codes {
		counts := c.codes[h].Load()
		if counts == nil {
			continue
		}
		for i := range counts {
			if n := counts[i].Load(); n > 0 {
				out[h*100+i] = n
			}
		}
	}
	return out
}

func (c *setCounters) stats() SetStats {
	s := SetStats{InFlight: c.inFlight.Load()}
	s.Requests = c.requests.Load()
	s.ServerErrors = c.serverErrors.Load()
	var cumulative uint64
	for i, le := range latencyBounds {
		cumulative += c.buckets[i].Load()
		s.LatencyBuckets = append(s.LatencyBuckets, adapters.LatencyBucket{UpperBound: le, Count: cumulative})
	}
	return s
}

// setOf is one set's counters with the names they are kept under.
type setOf struct {
	service, set string
	counters     *setCounters
}

// all returns every set's counters.
func (m *metrics) all() []setOf {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []setOf
	for svc, bySet := range m.sets {
		for id, c := range bySet {
			out = append(out, setOf{svc, id, c})
		}
	}
	return out
}

func (m *metrics) snapshot() map[string]map[string]SetStats {
	out := map[string]map[string]SetStats{}
	for _, s := range m.all() {
		if out[s.service] == nil {
			out[s.service] = map[string]SetStats{}
		}
		out[s.service][s.set] = s.counters.stats()
	}
	return out
}
