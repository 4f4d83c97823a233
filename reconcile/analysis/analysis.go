// Package analysis judges a canary step from counters: the error rates and
// latencies the canary and its baseline served since the step started, and
// the arithmetic of the traffic adapter's cumulative counters. It is pure:
// it reads no journal, calls no adapter and must never import reconcile.
package analysis

import (
	"fmt"
	"math"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// Verdicts of a signal and of an analysis.
const (
	Pass         = "pass"
	Fail         = "fail"
	Inconclusive = "inconclusive"
	// None is a signal with nothing to compare (no baseline, no histogram),
	// and the analysis of a step that has none.
	None = "none"
)

// significance is the one-sided level at which a canary's errors count as
// worse than allowed rather than bad luck, in both statistical tests.
const significance = 0.05

// zCritical is the normal law's (1 - significance) quantile (1.6449): the
// z-score above which the two-proportion z-test finds a difference.
var zCritical = math.Sqrt2 * math.Erfinv(1-2*significance)

// Analyse judges a canary step from what the canary and the baseline (the
// set serving beside it) served since the step started.
//
// A step fails when the canary's error rate is significantly above
// maxErrorRate (exact binomial test), or significantly more than
// maxErrorRateIncrease above the baseline's (two-proportion z-test). It
// passes only with at least minRequests and an error rate within both
// limits; anything else is inconclusive: not enough data is never a pass.
func Analyse(a schema.Analysis, canary, baseline api.Counters) policy.Analysis {
	rate := ratio(canary.ServerErrors, canary.Requests)
	base := ratio(baseline.ServerErrors, baseline.Requests)
	abs := policy.Signal{Name: "error-rate", Canary: rate, Baseline: base, Threshold: a.MaxErrorRate, Verdict: Pass}
	inc := policy.Signal{Name: "error-rate-increase", Canary: rate - base, Baseline: 0, Threshold: a.MaxErrorRateIncrease, Verdict: Pass}

	if binomialTail(canary.Requests, canary.ServerErrors, a.MaxErrorRate) < significance {
		abs.Verdict = Fail
	} else if rate > a.MaxErrorRate || canary.Requests < a.MinRequests {
		abs.Verdict = Inconclusive
	}
	switch {
	case baseline.Requests < a.MinRequests:
		inc.Verdict = Inconclusive
		if baseline.Requests == 0 {
			inc.Verdict = None // nothing serves beside the canary
		}
	case exceeds(canary, baseline, a.MaxErrorRateIncrease):
		inc.Verdict = Fail
	case rate-base > a.MaxErrorRateIncrease || canary.Requests < a.MinRequests:
		inc.Verdict = Inconclusive
	}

	lat := latencySignal(a, canary, baseline)
	out := policy.Analysis{Verdict: Pass, Signals: []policy.Signal{abs, inc, lat}}
	for _, s := range out.Signals {
		switch {
		case s.Verdict == Fail:
			out.Verdict = Fail
		case s.Verdict == Inconclusive && out.Verdict == Pass:
			out.Verdict = Inconclusive
		}
	}
	return out
}

// latencyFloor is the least difference of p90 latencies that counts: below
// it, histogram buckets and a loaded host's scheduling decide, not the
// release. The p90 (not a higher quantile) keeps a few slow requests from
// judging a release.
const latencyFloor = 0.05

// latencyName names the latency signal.
const latencyName = "latency-p90"

// latencySignal compares the canary's p90 latency with the baseline's (at
// most maxLatencyIncrease times it, and more than latencyFloor above it to
// fail) and with maxLatencyP90 when set. Its threshold is the one applied:
// the lowest p90 that fails.
func latencySignal(a schema.Analysis, canary, baseline api.Counters) policy.Signal {
	ratioMax := a.MaxLatencyIncrease
	if ratioMax < 1 {
		ratioMax = 2 // a release journaled before the field existed
	}
	sig := policy.Signal{Name: latencyName, Verdict: Pass}
	cq, cok := quantile(canary, 0.9)
	bq, bok := quantile(baseline, 0.9)
	sig.Canary, sig.Baseline = finite(cq), finite(bq)
	if len(canary.Latency) == 0 {
		sig.Verdict = None // the traffic adapter keeps no histogram
		return sig
	}
	if !cok || canary.Requests < a.MinRequests {
		sig.Verdict = Inconclusive
		return sig
	}
	if a.MaxLatencyP90 != nil {
		sig.Threshold = a.MaxLatencyP90.Seconds()
		if cq > sig.Threshold {
			sig.Verdict = Fail
			return sig
		}
	}
	if !bok || baseline.Requests < a.MinRequests {
		if a.MaxLatencyP90 == nil {
			sig.Verdict = None
		}
		return sig
	}
	// The step fails above both ratioMax times the baseline's p90 and
	// latencyFloor more than it: the greater of the two is the threshold
	// applied, unless maxLatencyP90 is lower.
	relative := max(bq*ratioMax, bq+latencyFloor)
	if sig.Threshold == 0 || relative < sig.Threshold {
		sig.Threshold = finite(relative)
	}
	if cq > relative {
		sig.Verdict = Fail
	}
	return sig
}

// finite writes +Inf (a quantile past the histogram's last bound) as a
// large number, since JSON and policies have no infinity.
func finite(x float64) float64 {
	if math.IsInf(x, 1) {
		return 1e9
	}
	return x
}

// Describe says what a step's analysis found, for a person.
func Describe(an policy.Analysis, canary, baseline api.Counters) string {
	out := fmt.Sprintf("%s: canary %d/%d errors (%.1f%%), baseline %d/%d (%.1f%%)", an.Verdict,
		canary.ServerErrors, canary.Requests, 100*ratio(canary.ServerErrors, canary.Requests),
		baseline.ServerErrors, baseline.Requests, 100*ratio(baseline.ServerErrors, baseline.Requests))
	for _, s := range an.Signals[min(2, len(an.Signals)):] {
		// latency, related services and Prometheus queries, after the two error signals
		switch {
		case s.Name == latencyName && len(canary.Latency) == 0:
			// the traffic adapter keeps no latency: nothing to say
		case s.Verdict == None && s.Threshold == 0:
			out += fmt.Sprintf("; %s %s: %.3g (nothing to compare with)", s.Name, s.Verdict, s.Canary)
		default:
			out += fmt.Sprintf("; %s %s: %.3g (max %.3g)", s.Name, s.Verdict, s.Canary, s.Threshold)
		}
	}
	return out
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// binomialTail is P(X >= k) for X ~ Binomial(n, p): how likely k or more
// errors in n requests are if the true error rate were p.
func binomialTail(n, k uint64, p float64) float64 {
	switch {
	case k == 0:
		return 1
	case p <= 0:
		return 0
	case p >= 1:
		return 1
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	ln, _ := math.Lgamma(float64(n) + 1)
	sum := 0.0
	for i := k; i <= n; i++ {
		li, _ := math.Lgamma(float64(i) + 1)
		lni, _ := math.Lgamma(float64(n-i) + 1)
		term := math.Exp(ln - li - lni + float64(i)*lp + float64(n-i)*lq)
		sum += term
		if term < 1e-12*sum && float64(i) > float64(n)*p {
			break // the remaining terms only shrink
		}
	}
	return math.Min(sum, 1)
}

// exceeds reports whether the canary's error rate is significantly more than
// margin above the baseline's (one-sided two-proportion z-test).
func exceeds(canary, baseline api.Counters, margin float64) bool {
	pc, pb := ratio(canary.ServerErrors, canary.Requests), ratio(baseline.ServerErrors, baseline.Requests)
	diff := pc - pb - margin
	if diff <= 0 || canary.Requests == 0 {
		return false
	}
	v := pc*(1-pc)/float64(canary.Requests) + pb*(1-pb)/float64(baseline.Requests)
	if v == 0 {
		return true
	}
	return diff/math.Sqrt(v) > zCritical
}

// ErrorRate judges one set's error rate over d, what it served since a
// step started, against a's maxErrorRate: significantly above it fails,
// fewer than minRequests is inconclusive. name names the signal.
func ErrorRate(name string, a schema.Analysis, d api.Counters) policy.Signal {
	sig := policy.Signal{Name: name, Canary: ratio(d.ServerErrors, d.Requests), Threshold: a.MaxErrorRate, Verdict: Pass}
	switch {
	case d.Requests < a.MinRequests:
		sig.Verdict = Inconclusive
	case binomialTail(d.Requests, d.ServerErrors, a.MaxErrorRate) < significance:
		sig.Verdict = Fail
	}
	return sig
}
