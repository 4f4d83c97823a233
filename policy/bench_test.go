package policy_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// benchInputs are realistic inputs of each entry point, built from the
// quickstart's desired state.
func benchInputs(b *testing.B) map[policy.EntryPoint]any {
	ds, err := schema.Load(examples.Quickstart())
	if err != nil {
		b.Fatal(err)
	}
	old := *ds
	old.Services = map[string]schema.Service{}
	for n, s := range ds.Services {
		s.Artifact = s.Artifact[:len(s.Artifact)-4] + "0000"
		old.Services[n] = s
	}
	now := policy.NowIn(time.Date(2026, 11, 20, 16, 30, 0, 0, time.UTC), time.UTC)
	web := ds.Services["web"]
	set := func(id string, state api.SetState, weight int) policy.FleetSet {
		return policy.FleetSet{ID: id, Release: id, State: state, Weight: weight, Healthy: 2, Desired: 2}
	}
	services := map[string]policy.FleetService{}
	for _, svc := range []string{"web", "api", "worker", "auth"} {
		services[svc] = policy.FleetService{Replicas: 2, KeepWarm: 1, Placements: []policy.FleetPlacement{
			{Stage: "staging", Target: "staging-a", Zone: "a", Sets: []policy.FleetSet{set(svc+"-2", "serving", 100), set(svc+"-1", "warm", 0)}},
			{Stage: "prod", Target: "prod-a", Zone: "a", Sets: []policy.FleetSet{set(svc+"-2", "serving", 100), set(svc+"-1", "warm", 0)}},
			{Stage: "prod", Target: "prod-b", Zone: "b", Sets: []policy.FleetSet{set(svc+"-1", "serving", 100)}},
		}}
	}
	fleet, err := policy.PrepareFleet(services)
	if err != nil {
		b.Fatal(err)
	}
	return map[policy.EntryPoint]any{
		policy.Admission: policy.AdmissionInput{APIVersion: policy.APIVersion, Entry: "admission", Now: now,
			Commit: policy.Commit{ID: "3f2a", Message: "Deploy web", Author: policy.Person{Name: "Dev", Email: "dev@example.com"}, Trailers: map[string][]string{}},
			Change: schema.Diff(&old, ds), Old: prepare(b, &old), New: prepare(b, ds), Approvals: []policy.Approval{}},
		policy.Gate: policy.GateInput{APIVersion: policy.APIVersion, Entry: "gate", Now: now, Service: "web",
			Stage: policy.GateStage{Name: "prod", Index: 1, Targets: []string{"prod-a", "prod-b"}}, Target: "prod-a", Zone: "a",
			Release: policy.GateRelease{ID: web.ReleaseID(), Artifact: web.Artifact}, Step: policy.GateStep{Kind: policy.StepPromote, Count: 1, Weight: 100},
			Bake: policy.Bake{ElapsedSeconds: 120, Requests: 5000}, Analysis: policy.Analysis{Verdict: "pass", Signals: []policy.Signal{}},
			Strategy: web.Strategy, Stages: map[string]policy.StageState{}, Approvals: []policy.Approval{}},
		policy.Invariant: policy.InvariantInput{APIVersion: policy.APIVersion, Entry: "invariant", Now: now,
			Action: policy.Action{Kind: api.ActionSetSplit, Service: "web", Stage: "prod", Target: "prod-a", Set: "web-2", Weights: map[string]int{"web-2": 100, "web-1": 0}},
			Before: fleet, After: afterSplit(b, fleet, "web", 1)},
	}
}

func prepare(b *testing.B, ds *schema.DesiredState) *policy.Prepared[schema.DesiredState] {
	p, err := policy.Prepare(ds)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// afterSplit is the fleet after moving all of a placement's traffic to its
// newest set, made as the reconciler makes it: the service acted on is
// copied, changed and prepared, the others are shared with the fleet
// before.
func afterSplit(b *testing.B, before policy.Fleet, service string, placement int) policy.Fleet {
	after := policy.Fleet{Services: maps.Clone(before.Services)}
	svc := *before.Services[service].Of
	svc.Placements = slices.Clone(svc.Placements)
	p := &svc.Placements[placement]
	p.Sets = slices.Clone(p.Sets)
	p.Sets[0].Weight, p.Sets[0].State = 100, api.SetServing
	p.Sets[1].Weight, p.Sets[1].State = 0, api.SetWarm
	prepared, err := policy.Prepare(&svc)
	if err != nil {
		b.Fatal(err)
	}
	after.Services[service] = prepared
	return after
}

// writeInputs writes each input's JSON (the text its digest is taken
// from) to dir, for `opa bench` to evaluate the same input
// (hack/bench/policy.sh).
func writeInputs(b *testing.B, dir string, inputs map[policy.EntryPoint]any) {
	for ep, in := range inputs {
		raw, err := json.Marshal(in)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, string(ep)+".json"), raw, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecision measures one prepared decision of the docker-haproxy
// example's policy set (the fuller one) per entry point, and reports the
// p50 and p99 latencies.
func BenchmarkDecision(b *testing.B) {
	src, err := policy.ReadSource(examples.DockerHAProxy(), "policy", "repository", "")
	if err != nil {
		b.Fatal(err)
	}
	engine, err := policy.Compile(context.Background(), policy.Options{}, src)
	if err != nil {
		b.Fatal(err)
	}
	inputs := benchInputs(b)
	if dir := os.Getenv("DURABLE_BENCH_POLICY_INPUTS"); dir != "" {
		writeInputs(b, dir, inputs)
	}
	for _, ep := range policy.EntryPoints {
		next := func() any { return inputs[ep] }
		if ep == policy.Invariant {
			// Each action's fleet after it is made for its decision
			// (the fleet before is the pass's, prepared as it changes).
			in := inputs[ep].(policy.InvariantInput)
			next = func() any {
				in.After = afterSplit(b, in.Before, "web", 1)
				return in
			}
		}
		b.Run(string(ep), func(b *testing.B) {
			benchDecide(b, engine, ep, next)
		})
	}
	// A revision's admission as the reconciler asks it: the new desired
	// state prepared (its one encoding, also the journal's copy), the old
	// one prepared when it was new.
	b.Run("admission-new-revision", func(b *testing.B) {
		in := inputs[policy.Admission].(policy.AdmissionInput)
		benchDecide(b, engine, policy.Admission, func() any {
			ds := *in.New.Of
			fresh := in
			fresh.New = prepare(b, &ds)
			return fresh
		})
	})
}

// benchDecide measures one entry point's decisions on the inputs next
// makes, and reports the p50 and p99 latencies.
func benchDecide(b *testing.B, engine *policy.Engine, ep policy.EntryPoint, next func() any) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		d := engine.Decide(ctx, ep, next())
		if !d.Defined() {
			b.Fatalf("%s: %s %v", ep, d.Result, d.Reasons)
		}
		lat = append(lat, d.Duration)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkCompile measures compiling and preparing the example policy set,
// which the reconciler does once per revision.
func BenchmarkCompile(b *testing.B) {
	src, err := policy.ReadSource(examples.DockerHAProxy(), "policy", "repository", "")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := policy.Compile(context.Background(), policy.Options{}, src); err != nil {
			b.Fatal(err)
		}
	}
}
