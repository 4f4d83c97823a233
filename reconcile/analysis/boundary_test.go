package analysis

import (
	"math"
	"testing"
	"time"

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
// (5%), so that the binomial test passes it, beside a baseline at 1%, and
// maxErrorRateIncrease 1%. Only the two-proportion z-test can fail it. Of
// 2,000 requests beside 10,000, 52 errors (z = 1.62) are not significantly
// more than 1% above the baseline, so the step holds (inconclusive, never
// a pass); 53 (z = 1.74) are, so it fails. Beside a baseline as small as
// the canary, whose own variance then counts, the boundary is 53 (z =
// 1.54) and 54 (z = 1.646, just above 1.6449).
func TestZTestDecidesAloneAtItsBoundary(t *testing.T) {
	a := schema.Analysis{MaxErrorRate: 0.05, MaxErrorRateIncrease: 0.01, MinRequests: 20}
	for _, tc := range []struct {
		name           string
		errors, served uint64 // the canary's errors in 2,000; the baseline's requests, 1% errors
		want           string
	}{
		{"z 1.62, just inside the significance level", 52, 10000, Inconclusive},
		{"z 1.74, just outside it", 53, 10000, Fail},
		{"beside a small baseline, z 1.54", 53, 2000, Inconclusive},
		{"beside a small baseline, z 1.646", 54, 2000, Fail},
	} {
		baseline := api.Counters{Requests: tc.served, ServerErrors: tc.served / 100}
		an := Analyse(a, api.Counters{Requests: 2000, ServerErrors: tc.errors}, baseline)
		if an.Verdict != tc.want || signal(an, "error-rate") != Pass || signal(an, "error-rate-increase") != tc.want {
			t.Errorf("%s: %s %+v, want %s from the z-test alone", tc.name, an.Verdict, an.Signals, tc.want)
		}
	}
	// maxErrorRateIncrease 0: a canary as clean as its baseline passes.
	a.MaxErrorRateIncrease = 0
	clean := api.Counters{Requests: 100}
	if an := Analyse(a, clean, clean); an.Verdict != Pass {
		t.Errorf("no errors on either side with no increase allowed: %s %+v", an.Verdict, an.Signals)
	}
}

// TestZCriticalIsTheSignificanceQuantile: the z-test's critical value is
// the standard normal's 95th percentile, 1.6449 to four places.
func TestZCriticalIsTheSignificanceQuantile(t *testing.T) {
	if math.Abs(zCritical-1.6449) > 5e-5 {
		t.Fatalf("z critical %v, want 1.6449", zCritical)
	}
}

// TestExactlyMinRequestsIsEnough: a canary and a baseline that served
// exactly minRequests are judged ("at least minRequests"), on every signal.
func TestExactlyMinRequestsIsEnough(t *testing.T) {
	a := schema.Analysis{MaxErrorRate: 0.05, MaxErrorRateIncrease: 0.01, MinRequests: 20, MaxLatencyIncrease: 2}
	d := api.Counters{Requests: 20, Latency: hist(20, 0.005)}
	an := Analyse(a, d, d)
	for _, name := range []string{"error-rate", "error-rate-increase", latencyName} {
		if signal(an, name) != Pass {
			t.Errorf("%s with exactly minRequests: %+v, want pass", name, an.Signals)
		}
	}
	if got := ErrorRate("related", a, d); got.Verdict != Pass {
		t.Errorf("a related service with exactly minRequests: %s, want pass", got.Verdict)
	}
	slow := api.Counters{Requests: 20, Latency: hist(20, 0.25)}
	if got := signal(Analyse(a, slow, d), latencyName); got != Fail {
		t.Errorf("five times slower than a baseline of exactly minRequests: %s, want fail", got)
	}
	small := api.Counters{Requests: 19, Latency: hist(19, 0.005)}
	if got := signal(Analyse(a, slow, small), latencyName); got != None {
		t.Errorf("compared with a baseline of fewer than minRequests: %s, want none", got)
	}
}

// TestLatencyLimitsAreTheOnesSet: the canary's p90 may be at most
// maxLatencyIncrease times the baseline's (2 for a release journaled
// before the field, 0), and at most maxLatencyP90: equal passes, the next
// bucket up fails.
func TestLatencyLimitsAreTheOnesSet(t *testing.T) {
	for _, tc := range []struct {
		name           string
		increase       float64
		ceiling        time.Duration
		canary, serves float64 // p90s of canary and baseline, on bucket bounds
		want           string
	}{
		{"journaled before the field: 2.5 times", 0, 0, 0.25, 0.1, Fail},
		{"journaled before the field: exactly twice", 0, 0, 0.5, 0.25, Pass},
		{"3 set: 2.5 times", 3, 0, 0.25, 0.1, Pass},
		{"1.5 set: twice", 1.5, 0, 0.5, 0.25, Fail},
		{"1 set: twice", 1, 0, 0.5, 0.25, Fail},
		{"exactly at the ceiling", 2, 100 * time.Millisecond, 0.1, 0.1, Pass},
		{"a bucket above the ceiling", 2, 100 * time.Millisecond, 0.25, 0.25, Fail},
	} {
		a := schema.Analysis{MaxErrorRate: 0.05, MaxErrorRateIncrease: 0.01, MinRequests: 20, MaxLatencyIncrease: tc.increase}
		if tc.ceiling > 0 {
			a.MaxLatencyP90 = &schema.Duration{Duration: tc.ceiling}
		}
		an := Analyse(a, api.Counters{Requests: 100, Latency: hist(100, tc.canary)}, api.Counters{Requests: 900, Latency: hist(900, tc.serves)})
		if got := signal(an, latencyName); got != tc.want {
			t.Errorf("%s: %s %+v, want %s", tc.name, got, an.Signals, tc.want)
		}
	}
}

// TestDescribeSaysWhatWasCounted: the counts and rates a person reads,
// the error signals once (in the opening counts), a zero threshold shown.
func TestDescribeSaysWhatWasCounted(t *testing.T) {
	a := schema.Analysis{MaxErrorRate: 0.01, MaxErrorRateIncrease: 0.01, MinRequests: 20}
	c := func(req, errs uint64) api.Counters { return api.Counters{Requests: req, ServerErrors: errs} }
	an := Analyse(a, c(25, 5), c(90, 9))
	an.Signals = append(an.Signals, policy.Signal{Name: "queue-depth", Verdict: Pass})
	got := Describe(an, c(25, 5), c(90, 9))
	want := "fail: canary 5/25 errors (20.0%), baseline 9/90 (10.0%); queue-depth pass: 0 (max 0)"
	if got != want {
		t.Errorf("described %q, want %q", got, want)
	}
	none := Analyse(a, c(0, 0), c(0, 0))
	if got := Describe(none, c(0, 0), c(0, 0)); got != "inconclusive: canary 0/0 errors (0.0%), baseline 0/0 (0.0%)" {
		t.Errorf("no traffic described %q", got)
	}
}
