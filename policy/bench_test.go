package policy_test

import (
	"context"
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
	fleet := policy.Fleet{Services: map[string]policy.FleetService{}}
	for _, svc := range []string{"web", "api", "worker", "auth"} {
		fleet.Services[svc] = policy.FleetService{Replicas: 2, KeepWarm: 1, Placements: []policy.FleetPlacement{
			{Stage: "staging", Target: "staging-a", Zone: "a", Sets: []policy.FleetSet{set(svc+"-2", "serving", 100), set(svc+"-1", "warm", 0)}},
			{Stage: "prod", Target: "prod-a", Zone: "a", Sets: []policy.FleetSet{set(svc+"-2", "serving", 100), set(svc+"-1", "warm", 0)}},
			{Stage: "prod", Target: "prod-b", Zone: "b", Sets: []policy.FleetSet{set(svc+"-1", "serving", 100)}},
		}}
	}
	return map[policy.EntryPoint]any{
		policy.Admission: policy.AdmissionInput{APIVersion: policy.APIVersion, Entry: "admission", Now: now,
			Commit: policy.Commit{ID: "3f2a", Message: "Deploy web", Author: policy.Person{Name: "Dev", Email: "dev@example.com"}, Trailers: map[string][]string{}},
			Change: schema.Diff(&old, ds), Old: &old, New: ds, Approvals: []policy.Approval{}},
		policy.Gate: policy.GateInput{APIVersion: policy.APIVersion, Entry: "gate", Now: now, Service: "web",
			Stage: policy.GateStage{Name: "prod", Index: 1, Targets: []string{"prod-a", "prod-b"}}, Target: "prod-a", Zone: "a",
			Release: policy.GateRelease{ID: web.ReleaseID(), Artifact: web.Artifact}, Step: policy.GateStep{Kind: policy.StepPromote, Count: 1, Weight: 100},
			Bake: policy.Bake{ElapsedSeconds: 120, Requests: 5000}, Analysis: policy.Analysis{Verdict: "pass", Signals: []policy.Signal{}},
			Strategy: web.Strategy, Stages: map[string]policy.StageState{}, Approvals: []policy.Approval{}},
		policy.Invariant: policy.InvariantInput{APIVersion: policy.APIVersion, Entry: "invariant", Now: now,
			Action: policy.Action{Kind: api.ActionSetSplit, Service: "web", Stage: "prod", Target: "prod-a", Set: "web-2", Weights: map[string]int{"web-2": 100, "web-1": 0}},
			Before: fleet, After: fleet},
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
	for _, ep := range policy.EntryPoints {
		in := benchInputs(b)[ep]
		b.Run(string(ep), func(b *testing.B) {
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				d := engine.Decide(ctx, ep, in)
				if !d.Defined() {
					b.Fatalf("%s: no policy answered", ep)
				}
				lat = append(lat, d.Duration)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
		})
	}
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
