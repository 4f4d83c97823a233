package analysis

import (
	"math"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
)

// CountersOf keeps what the analysis needs of a set's metrics.
func CountersOf(m adapters.SetMetrics) api.Counters {
	return api.Counters{Requests: m.Requests, ServerErrors: m.ServerErrors, Latency: m.LatencyBuckets}
}

// Since is what was counted between base and now. Counters that went back
// (the traffic adapter restarted) hold only what came after: all of now.
func Since(now, base api.Counters) api.Counters {
	if now.Requests < base.Requests || now.ServerErrors < base.ServerErrors {
		return now
	}
	d := api.Counters{Requests: now.Requests - base.Requests, ServerErrors: now.ServerErrors - base.ServerErrors}
	if len(base.Latency) == 0 {
		d.Latency = now.Latency
		return d
	}
	if len(base.Latency) != len(now.Latency) {
		return d // another histogram: no latency for this step
	}
	for i, b := range now.Latency {
		if b.Count < base.Latency[i].Count || b.UpperBound != base.Latency[i].UpperBound {
			return now
		}
		d.Latency = append(d.Latency, adapters.LatencyBucket{UpperBound: b.UpperBound, Count: b.Count - base.Latency[i].Count})
	}
	return d
}

// Window is what a set's metrics m counted since base, as metrics: the
// window a step's analysis judges, for a person to see.
func Window(m adapters.SetMetrics, base api.Counters) adapters.SetMetrics {
	d := Since(CountersOf(m), base)
	return adapters.SetMetrics{Requests: d.Requests, ServerErrors: d.ServerErrors, LatencyBuckets: d.Latency}
}

// quantile is the upper bound of the histogram bucket holding the q-th
// quantile of the requests, in seconds; ok is false without data. A
// quantile past the last finite bound is +Inf.
func quantile(c api.Counters, q float64) (float64, bool) {
	if len(c.Latency) == 0 {
		return 0, false
	}
	total := c.Latency[len(c.Latency)-1].Count
	if total == 0 {
		return 0, false
	}
	rank := uint64(math.Ceil(q * float64(total)))
	for _, b := range c.Latency {
		if b.Count >= rank {
			return b.UpperBound, true
		}
	}
	return math.Inf(1), true
}
