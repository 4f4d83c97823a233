package examples

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/durable-delivery/durable/schema"
)

// Every example repository validates as the reconciler loads it, and
// declares what its README promises.
func TestExamplesValidate(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct{ services, targets, stages int }{
		"quickstart":     {1, 1, 1},
		"docker-haproxy": {1, 1, 1},
		"multi-zone":     {4, 4, 3},
		"fleet":          {1, 7, 4},
	}
	seen := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(e.Name(), "release.cue")); err != nil {
			continue // not a desired-state repository (exec/ holds adapters)
		}
		seen++
		t.Run(e.Name(), func(t *testing.T) {
			ds, err := schema.LoadDir(e.Name())
			if err != nil {
				t.Fatalf("durable validate examples/%s:\n%v", e.Name(), err)
			}
			w, ok := want[e.Name()]
			if !ok {
				t.Fatalf("examples/%s is not listed in this test; add what it declares", e.Name())
			}
			if len(ds.Services) != w.services || len(ds.Targets) != w.targets || len(ds.Pipeline.Stages) != w.stages {
				t.Errorf("%d services, %d targets, %d stages; want %+v", len(ds.Services), len(ds.Targets), len(ds.Pipeline.Stages), w)
			}
		})
	}
	if seen != len(want) {
		t.Errorf("found %d example repositories, want %d", seen, len(want))
	}
}

// The multi-zone example's folder package and template reach the decoded
// desired state: the platform team's targets, the YAML service under the
// CUE template, stage rules.
func TestMultiZoneExample(t *testing.T) {
	ds, err := schema.LoadDir("multi-zone")
	if err != nil {
		t.Fatal(err)
	}
	eu := ds.Targets["prod-eu-west-a"]
	if eu.Zone != "eu-west-a" || eu.Runtime.Kind != "docker" || eu.Traffic.Kind != "haproxy" {
		t.Errorf("prod-eu-west-a = %+v", eu)
	}
	worker := ds.Services["worker"]
	if worker.Run.Replicas != 1 || worker.Strategy.Kind != schema.Canary || len(worker.Strategy.Steps) != 3 || worker.Run.Env["SERVICE"] != "worker" {
		t.Errorf("worker = %+v", worker)
	}
	if db := ds.Services["db-proxy"]; db.Strategy.Kind != schema.BlueGreen || db.Strategy.WarmMode != schema.WarmMinimal {
		t.Errorf("db-proxy strategy = %+v", db.Strategy)
	}
	stages := ds.Pipeline.Stages
	if stages[0].Bake == nil || stages[0].Bake.Requests != 1000 || !stages[0].UpgradeDowngradeTest || stages[1].Gate == nil || stages[1].Gate.Approvals != 1 {
		t.Errorf("stages = %+v", stages)
	}
}
