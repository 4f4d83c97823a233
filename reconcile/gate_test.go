package reconcile

import (
	"math"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/policy"
)

// TestGateWithoutPolicyRecordsItsInput: where no gate policy speaks, the
// built-in rules' decision carries the digest of the gate's input, the same
// a policy's decision on it would carry; an input JSON cannot hold (a NaN
// signal) is denied, journaled under a rule of its own, never decided on.
func TestGateWithoutPolicyRecordsItsInput(t *testing.T) {
	in := policy.GateInput{Service: "web", Analysis: policy.Analysis{Verdict: "pass", Signals: []policy.Signal{{Name: "errors", Canary: 0.01}}}}
	want, err := policy.InputDigest(in)
	if err != nil {
		t.Fatal(err)
	}
	var none *policy.Engine
	if d := recordedInput(none.Decide(t.Context(), policy.Gate, in), in); d.Result != policy.Allow || d.InputDigest != want || d.Defined() {
		t.Fatalf("no policy: %+v, want an undefined allow with digest %s", d, want)
	}
	in.Analysis.Signals[0].Canary = math.NaN()
	d := recordedInput(none.Decide(t.Context(), policy.Gate, in), in)
	if d.Result != policy.Deny || d.Policy != policyRecordedInput || len(d.Reasons) != 1 || !strings.HasPrefix(d.Reasons[0], "encode input") {
		t.Fatalf("a NaN signal: %+v, want a deny by %s: encode input", d, policyRecordedInput)
	}
	defined := policy.Decision{Entry: policy.Gate, Result: policy.Hold, Policy: "repository@c1", InputDigest: "sha256:x"}
	if d := recordedInput(defined, in); d.InputDigest != "sha256:x" || d.Result != policy.Hold {
		t.Fatalf("a policy's decision was changed: %+v", d)
	}
}
