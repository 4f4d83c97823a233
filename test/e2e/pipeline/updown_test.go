package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestUpgradeDowngradeCatchesAReleaseThatCannotBeRolledBack runs a stage
// with upgradeDowngradeTest under load: v2, which keeps the data's schema,
// passes new → old → new and is promoted; a release that migrates the data
// to a schema the release before cannot run on is caught before any of its
// traffic: the old release, started again, never becomes healthy.
func TestUpgradeDowngradeCatchesAReleaseThatCannotBeRolledBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	data := filepath.Join(f.Dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(f.Repo.Dir, "targets.cue"))
	if err != nil {
		t.Fatal(err)
	}
	staged := strings.Replace(string(b), `pipeline: stages: [{name: "local", targets: ["local"]}]`,
		`pipeline: stages: [{name: "local", targets: ["local"], upgradeDowngradeTest: true}]`, 1)
	if staged == string(b) {
		t.Fatalf("targets.cue has no pipeline line to change:\n%s", b)
	}
	deadline := fmt.Sprintf("package %s\n\nservices: web: strategy: progressDeadline: \"5s\"\n", f.Repo.Pkg())
	for name, text := range map[string]string{"targets.cue": staged, "deadline.cue": deadline} {
		if err := os.WriteFile(filepath.Join(f.Repo.Dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := func(schema int) string { return fmt.Sprintf(`{DATA_DIR: %q, SCHEMA_VERSION: "%d"}`, data, schema) }
	st := f.Story()
	c1 := f.Commit(ctx, f.Artifacts["v1"], env(1), "Deploy web v1")
	f.StartReconciler(ctx)
	if !st.Promoted(ctx, "deploy v1", c1, "v1") {
		t.Fatalf("v1 did not converge:\n%s", f.Logs())
	}
	st.Load = harness.StartLoad(ctx, f.Router, 2, 5*time.Millisecond)
	t.Cleanup(st.Load.Stop)

	c2 := f.Commit(ctx, f.Artifacts["v2"], env(1), "Deploy web v2, same data schema")
	f.Converge(ctx, st, "v2 after new → old → new", c2, "v2")
	entries, err := f.API.Journal(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	probes := 0
	for _, e := range entries {
		if e.Kind == api.EntryIntent && e.Action == api.ActionCreateSet && strings.HasSuffix(e.Set, "-probe") {
			probes++
		}
	}
	if probes != 2 {
		t.Fatalf("v2's test started %d probes, want 2 (old, then new)", probes)
	}

	c3 := f.Commit(ctx, f.Artifacts["v1"], env(2), "Deploy web v1 with a data migration")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var msg string
	e2etest.WaitFor(ctx, t, "the migrating release to fail its test", func() bool {
		s, err := f.API.Status(ctx)
		if err != nil || s.Applied == nil || s.Applied.Commit != c3 {
			return false
		}
		pl := s.Services[0].Placements[0]
		if pl.Rollout == nil || pl.Rollout.Release != s.Services[0].Release || pl.Rollout.Phase != api.RolloutFailed {
			return false
		}
		msg = pl.Rollout.Message
		return true
	})
	if !strings.Contains(msg, "cannot be rolled back") {
		t.Fatalf("failure %q does not say the release cannot be rolled back", msg)
	}
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pl := s.Services[0].Placements[0]
	if e2etest.SetByID(pl, pl.Serving).Artifact != f.Artifacts["v2"] || pl.Split.Weight(pl.Serving) != 100 {
		t.Fatalf("v2 must still serve everything: %+v", pl)
	}
	st.AssertNoFailedRequests(t)
	t.Logf("caught: %s", msg)
}
