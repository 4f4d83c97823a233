package schema

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func loadState(t *testing.T, extra string) *DesiredState {
	t.Helper()
	ds, err := Load(fstest.MapFS{"a.cue": {Data: []byte(`package x

services: web: artifact: "r/web@sha256:` + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + `"
targets: local: {runtime: kind: "process", traffic: {kind: "router", admin: "edge"}}
pipeline: stages: [{name: "local", targets: ["local"]}]
` + extra)}})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestDiffClassifiesChanges(t *testing.T) {
	base := loadState(t, "")
	first := Diff(nil, base)
	if !slices.Equal(first.Classes, []string{ClassApp, ClassInfra}) || !slices.Equal(first.Services["web"].Classes, []string{ClassApp, ClassInfra}) || first.Services["web"].Change != Added || first.Targets["local"].Change != Added {
		t.Fatalf("first revision: %+v", first)
	}
	if c := Diff(base, base); len(c.Classes) != 0 || len(c.Services) != 0 {
		t.Fatalf("no change: %+v", c)
	}
	for _, tc := range []struct {
		extra   string
		classes []string
		field   string
	}{
		{`services: web: run: env: LOG: "debug"`, []string{ClassApp}, "run.env.LOG"},
		{`services: web: run: replicas: 3`, []string{ClassInfra}, "run.replicas"},
		{`services: web: strategy: keepWarm: 2`, []string{ClassControl}, "strategy.keepWarm"},
		{`services: web: health: path: "/ready"`, []string{ClassApp}, "health.path"},
		{`services: web: run: secretEnv: TOKEN: env: "TOKEN"`, []string{ClassApp}, "run.secretEnv.TOKEN.env"},
		{`services: web: hold: true`, []string{ClassControl}, "hold"},
		{`services: web: dependsOn: ["db"], services: db: artifact: "r/db@sha256:` + strings.Repeat("0", 64) + `"`, []string{ClassControl}, "dependsOn.0"},
	} {
		c := Diff(base, loadState(t, tc.extra))
		sc := c.Services["web"]
		// A control change alone is not a new release.
		if !slices.Equal(sc.Classes, tc.classes) || sc.Change != Changed || !slices.Contains(sc.Fields, tc.field) || (sc.From == sc.To) != slices.Equal(tc.classes, []string{ClassControl}) {
			t.Errorf("%s: got %+v", tc.extra, c)
		}
	}
	c := Diff(base, loadState(t, `targets: local: zone: "b"`))
	if !slices.Equal(c.Classes, []string{ClassInfra}) || !slices.Equal(c.Targets["local"].Fields, []string{"zone"}) {
		t.Fatalf("target change: %+v", c)
	}
	longer := *base
	longer.Pipeline = Pipeline{Stages: append(slices.Clone(base.Pipeline.Stages), Stage{Name: "prod", Targets: []string{"local"}})}
	c = Diff(base, &longer)
	if !slices.Equal(c.Classes, []string{ClassInfra}) || len(c.Pipeline) == 0 || !slices.Equal(c.Stages, []string{"prod"}) {
		t.Fatalf("pipeline change: %+v", c)
	}
}

func TestResourcesLoadAndClassify(t *testing.T) {
	base := loadState(t, "")
	limited := loadState(t, `services: web: run: resources: {cpus: 0.5, memory: "256Mi"}`)
	r := limited.Services["web"].Run.Resources
	if r == nil || r.CPUs != 0.5 || r.MemoryBytes() != 256<<20 {
		t.Fatalf("resources %+v", r)
	}
	if base.Services["web"].ReleaseID() == limited.Services["web"].ReleaseID() {
		t.Fatal("a new limit must make a new release")
	}
	if c := Diff(base, limited); !slices.Equal(c.Classes, []string{ClassInfra}) {
		t.Fatalf("classes %v, want infra", c.Classes)
	}
}

// A canary step may carry its own analysis, completed with the schema's
// defaults; the other steps keep the strategy's.
func TestStepAnalysis(t *testing.T) {
	ds := loadState(t, `services: web: strategy: {
	kind: "canary"
	steps: [{weight: 10, analysis: {maxErrorRate: 0.001, minRequests: 200}}, {weight: 50}]
	analysis: maxErrorRate: 0.05
}`)
	st := ds.Services["web"].Strategy
	first, second := st.StepAnalysis(0), st.StepAnalysis(1)
	if first.MaxErrorRate != 0.001 || first.MinRequests != 200 || first.MaxLatencyIncrease != 2 {
		t.Errorf("step 1 analysis %+v", first)
	}
	if second != st.Analysis || second.MaxErrorRate != 0.05 || second.MinRequests != 20 {
		t.Errorf("step 2 analysis %+v, want the strategy's", second)
	}
}

// TestDiffFieldsAgreesWithFlattening: over generated pairs of services
// (each field set, unset, nil or empty, equal or not on the two sides),
// diffFields, which skips flattening equal values, lists exactly what
// flattening both sides lists.
func TestDiffFieldsAgreesWithFlattening(t *testing.T) {
	base := loadState(t, "").Services["web"]
	mutations := []func(*Service, *rand.Rand){
		func(s *Service, r *rand.Rand) { s.Run.Replicas = r.IntN(3) },
		func(s *Service, r *rand.Rand) {
			s.Run.Env = [](map[string]string){nil, {}, {"K": "a"}, {"K": "b", "L": ""}}[r.IntN(4)]
		},
		func(s *Service, r *rand.Rand) { s.DependsOn = [][]string{nil, {}, {"db"}, {"db", "db"}}[r.IntN(4)] },
		func(s *Service, r *rand.Rand) { s.Run.Args = [][]string{nil, {}, {"-v"}}[r.IntN(3)] },
		func(s *Service, r *rand.Rand) { s.Hold = r.IntN(2) == 0 },
		func(s *Service, r *rand.Rand) { s.Health.Path = []string{"", "/a", "/b"}[r.IntN(3)] },
		func(s *Service, r *rand.Rand) { s.Strategy.KeepWarm = r.IntN(3) },
		func(s *Service, r *rand.Rand) {
			s.Strategy.Analysis = []*Analysis{nil, {}, {MaxErrorRate: 0.5}, {MaxErrorRate: 0.5, MinRequests: 3}}[r.IntN(4)]
		},
		func(s *Service, r *rand.Rand) {
			s.Run.SecretEnv = []map[string]SecretRef{nil, {}, {"T": {Env: "T"}}, {"T": {File: "t"}}}[r.IntN(4)]
		},
		func(s *Service, r *rand.Rand) { s.Artifact = base.Artifact[:len(base.Artifact)-r.IntN(2)] },
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 5000 {
		a, b := base, base
		for range rng.IntN(4) {
			mutations[rng.IntN(len(mutations))](&a, rng)
		}
		if rng.IntN(3) == 0 {
			b = a // equal, sharing what a refers to
		}
		for range rng.IntN(4) {
			mutations[rng.IntN(len(mutations))](&b, rng)
		}
		inA, inB := rng.IntN(8) > 0, rng.IntN(8) > 0
		if got, want := diffFields(a, b, inA, inB), diffFlat(a, b, inA, inB); !slices.Equal(got, want) {
			t.Fatalf("case %d: diffFields lists %v, flattening %v\n%+v\n%+v", i, got, want, a, b)
		}
	}
}
