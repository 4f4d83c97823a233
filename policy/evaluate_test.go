package policy

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/schema"
)

// hostileGate is a gate whose rules fail or disagree in the ways the
// single evaluation must not hide: hold fails (a division by zero) where
// deny already decided, allow is not a boolean.
const hostileGate = `package durable.gate

deny contains "frozen" if input.stage.name == "frozen"

hold contains "heavy" if input.step.weight > 50

hold contains x if {
	input.stage.name == "frozen"
	x := 1 / (input.step.index - input.step.index)
}

allow := "yes" if input.step.kind == "odd"

default allow := false

allow if input.step.kind in {"enter", "promote"}
`

// The gate's rules asked in one evaluation decide as asked one by one,
// on generated inputs: the example's gate (freeze windows, Friday
// afternoons, canary steps, approvals, analysis) and a hostile one.
func TestGateTogetherDecidesAsRuleByRule(t *testing.T) {
	example, err := ReadSource(os.DirFS("../examples/docker-haproxy"), "policy", "repository", "")
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]Source{"example": example,
		"hostile":   source("hostile", map[string]string{"gate.rego": hostileGate}),
		"bool-hold": source("bool-hold", map[string]string{"gate.rego": "package durable.gate\n\nhold if input.step.weight > 50\n\nallow if input.step.kind == \"enter\"\n"}),
		"no-hold":   source("no-hold", map[string]string{"gate.rego": "package durable.gate\n\nallow if input.step.kind == \"enter\"\n\ndeny contains \"analysis\" if input.analysis.verdict == \"fail\"\n"})}
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			e := mustCompile(t, Options{}, src)
			c := e.sources[0]
			if _, ok := c.together[Gate]; !ok {
				t.Fatal("no single evaluation was prepared")
			}
			g := &generator{r: rand.New(rand.NewPCG(7, 20))}
			results := map[string]int{}
			for range 300 {
				in := g.gateInput()
				enc, err := encodeInput(in, nil)
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				gotResult, gotReasons := e.ask(ctx, Gate, c, enc.value)
				wantResult, wantReasons := e.eval(ctx, Gate, c.queries[Gate], enc.value)
				if gotResult != wantResult || !slices.Equal(gotReasons, wantReasons) {
					t.Fatalf("input %+v:\ntogether %s %q\none by one %s %q", in, gotResult, gotReasons, wantResult, wantReasons)
				}
				results[gotResult]++
			}
			t.Logf("results: %v", results)
			if len(results) < 2 {
				t.Fatalf("the generated inputs gave one result only (%v): they test nothing", results)
			}
		})
	}
}

// gateInput is a gate input drawn from the values the policies above
// look at.
func (g *generator) gateInput() GateInput {
	pick := func(xs ...string) string { return xs[g.r.IntN(len(xs))] }
	in := GateInput{APIVersion: APIVersion, Entry: "gate", Service: "web", Target: "prod-a",
		Stage:   GateStage{Name: pick("staging", "prod", "prod-b", "frozen"), Index: g.r.IntN(3)},
		Release: GateRelease{ID: pick("60303ae22b998861bce3b28f33eec1be", "9f86d081884c7d659a2feaa0c55ad015"), Rollback: g.r.IntN(4) == 0},
		Step:    GateStep{Kind: pick("enter", "promote", "odd", ""), Index: g.r.IntN(3), Count: 3, Weight: []int{5, 50, 100}[g.r.IntN(3)]},
		Now: Now{Date: pick("2026-12-25", "2027-03-30", "2026-11-20"), Weekday: pick("Friday", "Monday"), Hour: g.r.IntN(24),
			Timezone: "UTC"},
		Analysis: Analysis{Verdict: pick("pass", "fail", "inconclusive", "none"),
			Signals: []Signal{{Name: "errors", Canary: g.float(), Baseline: 0.01, Threshold: 0.02, Verdict: pick("pass", "fail")}}},
		Stages: map[string]StageState{}}
	in.Strategy.Kind = pick("canary", "blueGreen", "")
	for i := range g.r.IntN(3) {
		step := schema.CanaryStep{Weight: 10 * (i + 1)}
		if g.r.IntN(2) == 0 {
			step.Bake = schema.Bake{Time: api.Duration{Duration: time.Minute}, Requests: 100}
		}
		in.Strategy.Steps = append(in.Strategy.Steps, step)
	}
	if g.r.IntN(2) == 0 {
		in.Approvals = []Approval{{Release: in.Release.ID[:12], Stage: in.Stage.Name, By: "alice@example.com", Verified: g.r.IntN(3) > 0}}
	}
	return in
}
