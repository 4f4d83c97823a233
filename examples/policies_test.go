package examples

import (
	"context"
	"io/fs"
	"os"
	"testing"

	"github.com/durable-delivery/durable/policy"
)

// Every example's policies compile in the reconciler's sandbox and pass
// their own tests, as `durable policy test` runs them.
func TestExamplePoliciesPassTheirTests(t *testing.T) {
	for name, fsys := range map[string]fs.FS{"quickstart": Quickstart(), "docker-haproxy": DockerHAProxy(), "multi-zone": os.DirFS("multi-zone"), "fleet": Fleet()} {
		src, err := policy.ReadSource(fsys, "policy", name, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if src.Empty() || len(src.Tests) == 0 {
			t.Fatalf("%s: want policies and their tests, got %d and %d files", name, len(src.Modules), len(src.Tests))
		}
		engine, err := policy.Compile(context.Background(), policy.Options{}, src)
		if err != nil {
			t.Fatalf("%s: compile:\n%v", name, err)
		}
		for _, ep := range policy.EntryPoints {
			if !engine.Defines(ep) {
				t.Errorf("%s: no %s policy", name, ep)
			}
		}
		rep, err := policy.RunTests(context.Background(), src, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, r := range rep.Results {
			if !r.Pass && !r.Skipped {
				t.Errorf("%s: %s at %s failed %s", name, r.Name, r.Location, r.Error)
			}
		}
		if rep.Passed == 0 || !rep.OK() {
			t.Errorf("%s: %d passed, %d failed, %d errored", name, rep.Passed, rep.Failed, rep.Errored)
		}
	}
}
