package analysis

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/schema"
)

func TestBinomialTail(t *testing.T) {
	for _, tc := range []struct {
		n, k uint64
		p    float64
		want float64
	}{
		{20, 0, 0.01, 1},
		{20, 1, 0.01, 1 - math.Pow(0.99, 20)},
		{10, 10, 0.5, math.Pow(0.5, 10)},
		{100, 3, 0, 0},
		{4, 2, 0.5, 11.0 / 16},
		{10, 3, 1, 1}, // maxErrorRate 100%: any number of errors is allowed
	} {
		if got := binomialTail(tc.n, tc.k, tc.p); !(math.Abs(got-tc.want) <= 1e-9) { // NaN is wrong too
			t.Errorf("P(X>=%d | n=%d, p=%g) = %g, want %g", tc.k, tc.n, tc.p, got, tc.want)
		}
	}
}

func TestAnalyse(t *testing.T) {
	a := schema.Analysis{MaxErrorRate: 0.01, MaxErrorRateIncrease: 0.01, MinRequests: 20}
	c := func(req, errs uint64) api.Counters { return api.Counters{Requests: req, ServerErrors: errs} }
	for _, tc := range []struct {
		name             string
		canary, baseline api.Counters
		want             string
	}{
		{"healthy with enough data", c(100, 0), c(900, 0), Pass},
		{"too few requests", c(10, 0), c(90, 0), Inconclusive},
		{"no traffic at all", c(0, 0), c(0, 0), Inconclusive},
		{"a fifth of requests fail", c(25, 5), c(225, 0), Fail},
		{"caught on little data when it is that bad", c(8, 4), c(72, 0), Fail},
		{"one error in a hundred is not proof", c(100, 1), c(900, 9), Pass},
		{"slightly above the limit, not yet significant", c(50, 1), c(450, 0), Inconclusive},
		{"baseline as bad: the absolute limit still fails", c(200, 20), c(1800, 180), Fail},
		{"worse than the baseline by a margin", c(2000, 60), c(2000, 2), Fail},
		{"no baseline beside it", c(100, 0), c(0, 0), Pass},
	} {
		if got := Analyse(a, tc.canary, tc.baseline); got.Verdict != tc.want {
			t.Errorf("%s: %s %+v, want %s", tc.name, got.Verdict, got.Signals, tc.want)
		}
	}
}

// hist is a cumulative latency histogram of n requests, all in the bucket
// of the given upper bound (seconds), on the router's bounds.
func hist(n uint64, at float64) []adapters.LatencyBucket {
	var out []adapters.LatencyBucket
	for _, le := range []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, math.Inf(1)} {
		c := uint64(0)
		if le >= at {
			c = n
		}
		out = append(out, adapters.LatencyBucket{UpperBound: le, Count: c})
	}
	return out
}

func TestAnalyseLatency(t *testing.T) {
	a := schema.Analysis{MaxErrorRate: 0.01, MaxErrorRateIncrease: 0.01, MinRequests: 20, MaxLatencyIncrease: 2}
	c := func(req uint64, at float64) api.Counters {
		return api.Counters{Requests: req, Latency: hist(req, at)}
	}
	for _, tc := range []struct {
		name             string
		canary, baseline api.Counters
		want             string
	}{
		{"as fast as the baseline", c(100, 0.005), c(900, 0.005), Pass},
		{"a bucket slower but within the noise floor", c(100, 0.01), c(900, 0.005), Pass},
		{"five times slower", c(100, 0.25), c(900, 0.05), Fail},
		{"twice as slow but only 15ms more", c(100, 0.025), c(900, 0.01), Pass},
		{"slower past every bound", c(100, math.Inf(1)), c(900, 0.05), Fail},
		{"too few requests to tell", c(10, 0.25), c(900, 0.05), Inconclusive},
	} {
		got := Analyse(a, tc.canary, tc.baseline)
		if got.Verdict != tc.want {
			t.Errorf("%s: %s %+v, want %s", tc.name, got.Verdict, got.Signals, tc.want)
		}
	}
	ceiling := schema.Duration{Duration: 100 * time.Millisecond}
	a.MaxLatencyP90 = &ceiling
	if got := Analyse(a, c(100, 0.25), api.Counters{}); got.Verdict != Fail {
		t.Errorf("over the absolute ceiling with no baseline: %s %+v", got.Verdict, got.Signals)
	}
	if got := Analyse(a, c(100, 0.05), api.Counters{}); got.Verdict != Pass {
		t.Errorf("under the ceiling with no baseline: %s %+v", got.Verdict, got.Signals)
	}
}

func TestSinceSubtractsHistograms(t *testing.T) {
	base := api.Counters{Requests: 10, Latency: hist(10, 0.005)}
	now := api.Counters{Requests: 30, ServerErrors: 1, Latency: hist(30, 0.005)}
	d := Since(now, base)
	if d.Requests != 20 || d.ServerErrors != 1 || d.Latency[0].Count != 20 {
		t.Fatalf("since: %+v", d)
	}
	if q, ok := quantile(d, 0.99); !ok || q != 0.005 {
		t.Fatalf("p99 %v %v", q, ok)
	}
	if d := Since(base, now); d.Requests != 10 {
		t.Fatalf("counters that went back: %+v, want all of now", d)
	}
}

func TestErrorRate(t *testing.T) {
	a := schema.Analysis{MaxErrorRate: 0.01, MinRequests: 20}
	for _, tc := range []struct {
		name string
		d    api.Counters
		want string
	}{
		{"healthy with enough data", api.Counters{Requests: 100}, Pass},
		{"too few requests", api.Counters{Requests: 10, ServerErrors: 5}, Inconclusive},
		{"a fifth of requests fail", api.Counters{Requests: 100, ServerErrors: 20}, Fail},
	} {
		if got := ErrorRate("upstream db error-rate", a, tc.d); got.Verdict != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got.Verdict, tc.want)
		}
	}
}

// TestDescribeShowsTheThresholdApplied: a latency threshold is the p90 that
// would fail the step (the baseline's ×2 and +50 ms, or maxLatencyP90 when
// lower), and a source without latency shows none.
func TestDescribeShowsTheThresholdApplied(t *testing.T) {
	a := schema.Analysis{MaxErrorRate: 0.01, MaxErrorRateIncrease: 0.01, MinRequests: 20, MaxLatencyIncrease: 2}
	c := func(req uint64, at float64) api.Counters {
		return api.Counters{Requests: req, Latency: hist(req, at)}
	}
	ceiling := schema.Duration{Duration: 40 * time.Millisecond}
	withCeiling := a
	withCeiling.MaxLatencyP90 = &ceiling
	for _, tc := range []struct {
		name             string
		a                schema.Analysis
		canary, baseline api.Counters
		want, not        string
	}{
		{"floor above twice the baseline", a, c(100, 0.025), c(900, 0.01), "latency-p90 pass: 0.025 (max 0.06)", ""},
		{"twice the baseline above the floor", a, c(100, 0.1), c(900, 0.1), "latency-p90 pass: 0.1 (max 0.2)", "max 0.15"},
		{"the absolute ceiling lower", withCeiling, c(100, 0.025), c(900, 0.01), "latency-p90 pass: 0.025 (max 0.04)", ""},
		{"no baseline", a, c(100, 0.025), api.Counters{}, "latency-p90 none: 0.025 (nothing to compare with)", "(max 0)"},
		{"no latency kept", a, api.Counters{Requests: 100}, api.Counters{Requests: 900}, "", "latency"},
		{"slower past every bound", a, c(100, math.Inf(1)), c(900, 0.05), "latency-p90 fail: 1e+09 (max 0.1)", ""},
	} {
		an := Analyse(tc.a, tc.canary, tc.baseline)
		got := Describe(an, tc.canary, tc.baseline)
		if !strings.Contains(got, tc.want) || (tc.not != "" && strings.Contains(got, tc.not)) {
			t.Errorf("%s: %q, want %q without %q", tc.name, got, tc.want, tc.not)
		}
		for _, s := range an.Signals {
			if s.Name == "latency-p90" && s.Threshold > 0 && (s.Canary > s.Threshold) != (s.Verdict == Fail) {
				t.Errorf("%s: latency %g against threshold %g, but verdict %s", tc.name, s.Canary, s.Threshold, s.Verdict)
			}
		}
	}
}
