package benchrepo_test

import (
	"testing"

	"github.com/durable-delivery/durable/internal/benchrepo"
	"github.com/durable-delivery/durable/schema"
)

// A generated repository is one Durable accepts, with every service,
// its template applied and its dependency kept.
func TestWriteValidates(t *testing.T) {
	dir := t.TempDir()
	if err := benchrepo.Write(dir, 100); err != nil {
		t.Fatal(err)
	}
	ds, err := schema.LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir of a generated repository: %v", err)
	}
	if len(ds.Services) != 100 {
		t.Fatalf("%d services, want 100", len(ds.Services))
	}
	last := ds.Services[benchrepo.Name(99)]
	if last.Strategy.Kind != "canary" || len(last.Strategy.Steps) != 3 || last.Health.Path != "/ready" ||
		len(last.DependsOn) != 1 || last.DependsOn[0] != benchrepo.Name(98) {
		t.Errorf("service %s: %+v", benchrepo.Name(99), last)
	}
	if len(ds.Pipeline.Stages) != 3 || len(ds.Targets) != 4 {
		t.Errorf("%d stages, %d targets, want 3 and 4", len(ds.Pipeline.Stages), len(ds.Targets))
	}
}

// An exec repository is one Durable accepts, each target naming its own
// runtime and traffic plug-ins.
func TestWriteExecNamesPluginsPerTarget(t *testing.T) {
	dir := t.TempDir()
	if err := benchrepo.WriteExec(dir, 10); err != nil {
		t.Fatal(err)
	}
	ds, err := schema.LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir of a generated exec repository: %v", err)
	}
	if len(ds.Services) != 10 || len(ds.Targets) != len(benchrepo.Targets) {
		t.Fatalf("%d services, %d targets, want 10 and %d", len(ds.Services), len(ds.Targets), len(benchrepo.Targets))
	}
	for _, name := range benchrepo.Targets {
		tg, ok := ds.Targets[name]
		if !ok {
			t.Fatalf("target %s missing: %v", name, ds.Targets)
		}
		for _, a := range []struct {
			adapter schema.Adapter
			plugin  string
		}{{tg.Runtime, benchrepo.RuntimePlugin(name)}, {tg.Traffic, benchrepo.TrafficPlugin(name)}} {
			want := `{"plugin":"` + a.plugin + `"}`
			if a.adapter.Kind != "exec" || string(a.adapter.Config) != want {
				t.Errorf("target %s: adapter %s %s, want exec %s", name, a.adapter.Kind, a.adapter.Config, want)
			}
		}
	}
}
