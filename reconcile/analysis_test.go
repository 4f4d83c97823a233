package reconcile

import (
	"math"
	"testing"

	"github.com/durable-delivery/durable/reconcile/store"
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
	} {
		if got := binomialTail(tc.n, tc.k, tc.p); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("P(X>=%d | n=%d, p=%g) = %g, want %g", tc.k, tc.n, tc.p, got, tc.want)
		}
	}
}

func TestAnalyse(t *testing.T) {
	a := schema.Analysis{MaxErrorRate: 0.01, MaxErrorRateIncrease: 0.01, MinRequests: 20}
	c := func(req, errs uint64) store.Counters { return store.Counters{Requests: req, ServerErrors: errs} }
	for _, tc := range []struct {
		name             string
		canary, baseline store.Counters
		want             string
	}{
		{"healthy with enough data", c(100, 0), c(900, 0), verdictPass},
		{"too few requests", c(10, 0), c(90, 0), verdictInconclusive},
		{"no traffic at all", c(0, 0), c(0, 0), verdictInconclusive},
		{"a fifth of requests fail", c(25, 5), c(225, 0), verdictFail},
		{"caught on little data when it is that bad", c(8, 4), c(72, 0), verdictFail},
		{"one error in a hundred is not proof", c(100, 1), c(900, 9), verdictPass},
		{"slightly above the limit, not yet significant", c(50, 1), c(450, 0), verdictInconclusive},
		{"baseline as bad: the absolute limit still fails", c(200, 20), c(1800, 180), verdictFail},
		{"worse than the baseline by a margin", c(2000, 60), c(2000, 2), verdictFail},
		{"no baseline beside it", c(100, 0), c(0, 0), verdictPass},
	} {
		if got := analyse(a, tc.canary, tc.baseline); got.Verdict != tc.want {
			t.Errorf("%s: %s %+v, want %s", tc.name, got.Verdict, got.Signals, tc.want)
		}
	}
}
