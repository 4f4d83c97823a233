package analysis

import (
	"math"
	"testing"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// signal is the verdict of the named signal of an analysis.
func signal(an policy.Analysis, name string) string {
	for _, s := range an.Signals {
		if s.Name == name {
			return s.Verdict
		}
	}
	return "missing"
}

// TestBinomialDecidesAloneAtItsBoundary: with no baseline the exact
// binomial test alone judges the canary. At maxErrorRate 5% and 1,000
// requests, 62 errors have a tail of 0.051 (bad luck is still plausible:
// not proof) and 63 a tail of 0.038 (significant at 5%: the step fails).
// A significance level made stricter or looser moves one of them. A
// related service's error rate is judged by the same test.
func TestBinomialDecidesAloneAtItsBoundary(t *testing.T) {
	a := schema.Analysis{MaxErrorRate: 0.05, MaxErrorRateIncrease: 0.01, MinRequests: 20}
	for _, tc := range []struct {
		name            string
		errors          uint64
		canary, related string
	}{
		{"tail 0.051, just inside the significance level", 62, Inconclusive, Pass},
		{"tail 0.038, just outside it", 63, Fail, Fail},
	} {
		d := api.Counters{Requests: 1000, ServerErrors: tc.errors}
		an := Analyse(a, d, api.Counters{})
		if an.Verdict != tc.canary || signal(an, "error-rate") != tc.canary || signal(an, "error-rate-increase") != None {
			t.Errorf("%s: %s %+v, want %s from the binomial test alone", tc.name, an.Verdict, an.Signals, tc.canary)
		}
		if got := ErrorRate("related", a, d); got.Verdict != tc.related {
			t.Errorf("%s: a related service's error rate %s, want %s", tc.name, got.Verdict, tc.related)
		}
	}
}

// TestZTestDecidesAloneAtItsBoundary: a canary well within maxErrorRate
// (5%), so that the binomial test passes it, beside a baseline at 1% with
// 10,000 requests, and maxErrorRateIncrease 1%. Only the two-proportion
// z-test can fail it: 52 errors in 2,000 (z = 1.62) are not significantly
// more than 1% above the baseline, so the step holds (inconclusive, never
// a pass); 53 (z = 1.74) are, so it fails.
func TestZTestDecidesAloneAtItsBoundary(t *testing.T) {
	a := schema.Analysis{MaxErrorRate: 0.05, MaxErrorRateIncrease: 0.01, MinRequests: 20}
	baseline := api.Counters{Requests: 10000, ServerErrors: 100}
	for _, tc := range []struct {
		name   string
		errors uint64
		want   string
	}{
		{"z 1.62, just inside the significance level", 52, Inconclusive},
		{"z 1.74, just outside it", 53, Fail},
	} {
		an := Analyse(a, api.Counters{Requests: 2000, ServerErrors: tc.errors}, baseline)
		if an.Verdict != tc.want || signal(an, "error-rate") != Pass || signal(an, "error-rate-increase") != tc.want {
			t.Errorf("%s: %s %+v, want %s from the z-test alone", tc.name, an.Verdict, an.Signals, tc.want)
		}
	}
}

// TestZCriticalIsTheSignificanceQuantile: the z-test's critical value is
// the standard normal's 95th percentile, 1.6449 to four places.
func TestZCriticalIsTheSignificanceQuantile(t *testing.T) {
	if math.Abs(zCritical-1.6449) > 5e-5 {
		t.Fatalf("z critical %v, want 1.6449", zCritical)
	}
}
