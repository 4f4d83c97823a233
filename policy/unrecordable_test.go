package policy

import (
	"context"
	"math"
	"strings"
	"testing"
)

// TestInputThatCannotBeRecordedDenies: a decision is journaled with its
// input's digest; an input JSON cannot encode (a NaN from a metrics
// source) is denied, whether or not any policy is loaded, never decided on
// an input the record does not hold.
func TestInputThatCannotBeRecordedDenies(t *testing.T) {
	in := Analysis{Verdict: "pass", Signals: []Signal{{Name: "5xx-ratio", Canary: math.NaN(), Verdict: "pass"}}}
	var none *Engine
	e := mustCompile(t, Options{}, source("repository", map[string]string{"gate.rego": gatePolicy}))
	for name, eng := range map[string]*Engine{"no policy": none, "a gate policy": e} {
		d := eng.Decide(context.Background(), Gate, map[string]any{"analysis": in})
		if d.Result != Deny || len(d.Reasons) != 1 || !strings.HasPrefix(d.Reasons[0], "encode input") {
			t.Errorf("%s: %+v, want a deny: encode input", name, d)
		}
	}
}
