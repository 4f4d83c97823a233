package api

// Backend is one infra-set's share of a service's traffic.
type Backend struct {
	Set       string   `json:"set"`
	Release   string   `json:"release,omitempty"`
	Weight    int      `json:"weight"`
	Endpoints []string `json:"endpoints"`
}

// Split is the traffic of one service across its infra-sets. Weights are
// percentages summing to 100 (or all zero when the service has no traffic).
type Split struct {
	Service  string    `json:"service"`
	Backends []Backend `json:"backends"`
}

// Weight returns the weight of set in the split, 0 when absent.
func (s Split) Weight(set string) int {
	for _, b := range s.Backends {
		if b.Set == set {
			return b.Weight
		}
	}
	return 0
}

// SetMetrics are counters a health source reports for one infra-set.
type SetMetrics struct {
	Requests     uint64 `json:"requests"`
	ServerErrors uint64 `json:"serverErrors"`
	// LatencyBuckets maps an upper bound in seconds (as in Prometheus
	// histograms, "+Inf" last) to the cumulative count of requests at or
	// below it.
	LatencyBuckets []LatencyBucket `json:"latencyBuckets"`
}

// LatencyBucket is one cumulative bucket of a latency histogram.
type LatencyBucket struct {
	UpperBound float64 `json:"le"`
	Count      uint64  `json:"count"`
}
