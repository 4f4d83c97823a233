package policy

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/durable-delivery/durable/api"
)

func source(name string, files map[string]string) Source {
	return Source{Name: name, Revision: "rev-" + name, Modules: files}
}

func mustCompile(t *testing.T, opts Options, srcs ...Source) *Engine {
	t.Helper()
	e, err := Compile(context.Background(), opts, srcs...)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return e
}

const admissionFreeze = `package durable.admission

deny contains msg if {
	input.now.date == "2026-12-25"
	not input.change.rollback
	msg := "change freeze on 2026-12-25"
}
`

func TestAdmissionDeniesAndAllows(t *testing.T) {
	e := mustCompile(t, Options{}, source("repository", map[string]string{"policy/admission.rego": admissionFreeze}))
	ctx := context.Background()

	d := e.Decide(ctx, Admission, map[string]any{"now": map[string]any{"date": "2026-12-25"}, "change": map[string]any{"rollback": false}})
	if d.Result != Deny || len(d.Reasons) != 1 || d.Reasons[0] != "change freeze on 2026-12-25" {
		t.Fatalf("frozen day: got %+v", d)
	}
	if !strings.HasPrefix(d.InputDigest, "sha256:") || d.Policy != "repository@rev-repository" {
		t.Fatalf("decision record: %+v", d)
	}
	if d := e.Decide(ctx, Admission, map[string]any{"now": map[string]any{"date": "2026-12-25"}, "change": map[string]any{"rollback": true}}); d.Result != Allow {
		t.Fatalf("rollback on a frozen day: got %+v", d)
	}
	if d := e.Decide(ctx, Admission, map[string]any{"now": map[string]any{"date": "2026-12-26"}}); d.Result != Allow {
		t.Fatalf("ordinary day: got %+v", d)
	}
	// No source defines the gate: the reconciler's built-in rules apply.
	if d := e.Decide(ctx, Gate, map[string]any{}); d.Result != Allow || d.Defined() {
		t.Fatalf("undefined entry point: got %+v", d)
	}
}

func TestSameInputSameDigest(t *testing.T) {
	e := mustCompile(t, Options{}, source("repository", map[string]string{"a.rego": admissionFreeze}))
	in := map[string]any{"b": 1, "a": []int{1, 2}}
	d1, d2 := e.Decide(context.Background(), Admission, in), e.Decide(context.Background(), Admission, in)
	if d1.InputDigest != d2.InputDigest {
		t.Fatalf("digests differ: %s %s", d1.InputDigest, d2.InputDigest)
	}
	if d3 := e.Decide(context.Background(), Admission, map[string]any{"b": 2}); d3.InputDigest == d1.InputDigest {
		t.Fatal("different inputs share a digest")
	}
}

const gatePolicy = `package durable.gate

default allow := false

allow if input.step.kind == "enter"

allow if {
	input.step.kind == "promote"
	some a in input.approvals
	a.stage == input.stage.name
}

hold contains "waiting for an approval" if {
	input.step.kind == "promote"
	count(input.approvals) == 0
}

deny contains "analysis failed" if input.analysis.verdict == "fail"
`

func TestGateAllowHoldDeny(t *testing.T) {
	e := mustCompile(t, Options{}, source("repository", map[string]string{"gate.rego": gatePolicy}))
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		input map[string]any
		want  string
	}{
		{"enter", map[string]any{"step": map[string]any{"kind": "enter"}}, Allow},
		{"promote without approval holds", map[string]any{"step": map[string]any{"kind": "promote"}, "approvals": []any{}}, Hold},
		{"promote with approval", map[string]any{"step": map[string]any{"kind": "promote"}, "stage": map[string]any{"name": "prod"},
			"approvals": []any{map[string]any{"stage": "prod"}}}, Allow},
		{"approval for another stage is not allow", map[string]any{"step": map[string]any{"kind": "promote"}, "stage": map[string]any{"name": "prod"},
			"approvals": []any{map[string]any{"stage": "staging"}}}, Deny},
		{"deny beats hold", map[string]any{"step": map[string]any{"kind": "promote"}, "approvals": []any{}, "analysis": map[string]any{"verdict": "fail"}}, Deny},
	} {
		if d := e.Decide(ctx, Gate, tc.input); d.Result != tc.want {
			t.Errorf("%s: got %s %v, want %s", tc.name, d.Result, d.Reasons, tc.want)
		}
	}
}

func TestBothSourcesMustAllow(t *testing.T) {
	repo := source("repository", map[string]string{"policy/a.rego": `package durable.admission
deny contains "repository says no" if input.repo_no
`})
	host := source("host", map[string]string{"org/a.rego": `package durable.admission
deny contains "organisation says no" if input.org_no
`})
	e := mustCompile(t, Options{}, repo, host)
	ctx := context.Background()
	if d := e.Decide(ctx, Admission, map[string]any{}); d.Result != Allow || d.Policy != "repository@rev-repository, host@rev-host" {
		t.Fatalf("both allow: got %+v", d)
	}
	d := e.Decide(ctx, Admission, map[string]any{"org_no": true})
	if d.Result != Deny || len(d.Reasons) != 1 || d.Reasons[0] != "host: organisation says no" {
		t.Fatalf("host denies: got %+v", d)
	}
	d = e.Decide(ctx, Admission, map[string]any{"org_no": true, "repo_no": true})
	if d.Result != Deny || len(d.Reasons) != 2 {
		t.Fatalf("both deny: got %+v", d)
	}
	// A source that does not define the entry point does not vote.
	e = mustCompile(t, Options{}, repo, source("host", map[string]string{"x.rego": "package durable.other\nx := 1\n"}))
	if d := e.Decide(ctx, Admission, map[string]any{}); d.Result != Allow || d.Policy != "repository@rev-repository" {
		t.Fatalf("one source silent: got %+v", d)
	}
}

func compileErrors(t *testing.T, files map[string]string) Errors {
	t.Helper()
	_, err := Compile(context.Background(), Options{}, source("repository", files))
	if err == nil {
		t.Fatalf("compiled %v; want an error", files)
	}
	errs, ok := err.(Errors)
	if !ok || len(errs) == 0 {
		t.Fatalf("error %T %v; want Errors", err, err)
	}
	return errs
}

func TestCompileErrorsArePositioned(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"syntax", map[string]string{"policy/a.rego": "package durable.admission\n\ndeny contains msg if {\n\tmsg := \n}\n"}, "policy/a.rego:5:1: unexpected } token"},
		{"v0 syntax", map[string]string{"policy/a.rego": "package durable.admission\n\ndeny[msg] { msg := \"x\" }\n"}, "policy/a.rego:3:"},
		{"unsafe variable", map[string]string{"policy/a.rego": "package durable.admission\n\ndeny contains msg if {\n\tx == 1\n\tmsg := \"m\"\n}\n"}, "policy/a.rego:4:2: var x is unsafe"},
		{"http.send", map[string]string{"policy/a.rego": "package durable.admission\n\ndeny contains msg if {\n\tr := http.send({\"method\": \"GET\", \"url\": \"http://127.0.0.1\"})\n\tmsg := r.body\n}\n"}, "policy/a.rego:4:7: undefined function http.send; http.send is not available: policies are sandboxed"},
		{"time.now_ns", map[string]string{"policy/a.rego": "package durable.gate\n\ndefault allow := false\n\nallow if time.now_ns() > 0\n"}, "policies do not read the clock: use input.now"},
		{"opa.runtime", map[string]string{"policy/a.rego": "package durable.admission\n\ndeny contains x if x := opa.runtime().env.HOME\n"}, "undefined function opa.runtime"},
		{"net.lookup", map[string]string{"policy/a.rego": "package durable.invariant\n\ndeny contains x if { some x in net.lookup_ip_addr(\"localhost\") }\n"}, "undefined function net.lookup_ip_addr"},
		{"gate without allow", map[string]string{"policy/g.rego": "package durable.gate\n\ndeny contains \"x\" if false\n"}, "policy/g.rego:1:1: package durable.gate defines no allow rule"},
		{"admission without deny", map[string]string{"policy/a.rego": "package durable.admission\n\ndenny contains \"x\" if false\n"}, "policy/a.rego:1:1: package durable.admission defines no deny rule"},
	} {
		errs := compileErrors(t, tc.files)
		if !strings.Contains(errs.Error(), tc.want) {
			t.Errorf("%s: got\n%v\nwant it to contain %q", tc.name, errs, tc.want)
		}
	}
}

func TestRuntimeFailuresDeny(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		entry  EntryPoint
		policy string
		want   string
	}{
		{"built-in error", Admission, "package durable.admission\n\ndeny contains msg if {\n\tto_number(input.n) > 1\n\tmsg := \"big\"\n}\n", "durable.admission failed: "},
		{"conflict", Gate, "package durable.gate\n\nallow := input.a\nallow := input.b\n", "durable.gate failed: "},
		{"allow not a boolean", Gate, "package durable.gate\n\nallow := \"yes\"\n", `durable.gate did not allow (allow is "yes")`},
		{"deny not a set", Invariant, "package durable.invariant\n\ndeny := 3\n", "durable.invariant.deny is 3, not a set of messages"},
		{"allow undefined", Gate, "package durable.gate\n\nallow if input.never\n", "durable.gate did not allow (allow is undefined)"},
	} {
		e := mustCompile(t, Options{}, source("repository", map[string]string{"p.rego": tc.policy}))
		d := e.Decide(ctx, tc.entry, map[string]any{"n": "not a number", "a": true, "b": false})
		if d.Result != Deny || len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0], tc.want) {
			t.Errorf("%s: got %s %q, want deny containing %q", tc.name, d.Result, d.Reasons, tc.want)
		}
	}
}

func TestRunawayPolicyTimesOut(t *testing.T) {
	e := mustCompile(t, Options{Timeout: 20 * time.Millisecond}, source("repository", map[string]string{"p.rego": `package durable.invariant

deny contains "never" if {
	some i in numbers.range(1, 20000)
	some j in numbers.range(1, 20000)
	i * j == -1
}
`}))
	d := e.Decide(context.Background(), Invariant, map[string]any{})
	if d.Result != Deny || len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0], "timed out") {
		t.Fatalf("got %+v; want a deny that says it timed out", d)
	}
}

func TestReadSource(t *testing.T) {
	fsys := fstest.MapFS{
		"policy/admission.rego":      {Data: []byte(admissionFreeze)},
		"policy/admission_test.rego": {Data: []byte("package durable.admission_test\n")},
		"policy/README.md":           {Data: []byte("not rego")},
		"service.cue":                {Data: []byte("package x")},
	}
	src, err := ReadSource(fsys, "policy", "repository", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Modules) != 1 || len(src.Tests) != 1 || !strings.HasPrefix(src.Revision, "sha256:") {
		t.Fatalf("source %+v", src)
	}
	empty, err := ReadSource(fsys, "nowhere", "repository", "abc")
	if err != nil || !empty.Empty() {
		t.Fatalf("absent folder: %+v, %v", empty, err)
	}
	big := fstest.MapFS{"policy/big.rego": {Data: make([]byte, maxFileBytes+1)}}
	if _, err := ReadSource(big, "policy", "repository", ""); err == nil || !strings.Contains(err.Error(), "policy/big.rego") {
		t.Fatalf("oversized file: %v", err)
	}
}

// TestUndefinedEntryAllowsWhateverTheInput backs the reconciler's shortcut
// of not building the invariant's fleet when no source defines
// durable.invariant: over generated fleets (odd strings, invalid UTF-8,
// extreme numbers, empty and nil parts), Decide on that entry point always
// allows, undefined, exactly as the shortcut answers.
func TestUndefinedEntryAllowsWhateverTheInput(t *testing.T) {
	e := mustCompile(t, Options{}, source("repository", map[string]string{"a.rego": admissionFreeze}))
	if e.Defines(Invariant) || (*Engine)(nil).Defines(Invariant) {
		t.Fatal("Defines reports an entry point no source defines")
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	words := []string{"", "svc", "\xff\xfe", "a\x00b", strings.Repeat("z", 4096), `"}{`, "ünïcode"}
	word := func() string { return words[rnd.IntN(len(words))] }
	for i := range 300 {
		services := map[string]FleetService{}
		for range rnd.IntN(6) {
			svc := FleetService{Replicas: rnd.Int() - rnd.Int(), KeepWarm: rnd.IntN(3) - 1}
			for range rnd.IntN(3) {
				p := FleetPlacement{Stage: word(), Target: word(), Zone: word(), InFlight: rnd.IntN(2) == 0}
				for range rnd.IntN(3) {
					p.Sets = append(p.Sets, FleetSet{ID: word(), Release: word(), State: api.SetState(word()), Weight: rnd.IntN(300) - 100})
				}
				svc.Placements = append(svc.Placements, p)
			}
			services[word()] = svc
		}
		f, err := PrepareFleet(services)
		if err != nil {
			t.Fatal(err)
		}
		in := InvariantInput{APIVersion: APIVersion, Entry: string(Invariant), Action: Action{Kind: api.Action(word()), Service: word()}, Before: f}
		if i%2 == 0 {
			in.After = f
		}
		if d := e.Decide(context.Background(), Invariant, in); d.Result != Allow || d.Defined() || len(d.Reasons) > 0 {
			t.Fatalf("case %d: undefined invariant decided %+v", i, d)
		}
	}
}
