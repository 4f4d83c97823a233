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
