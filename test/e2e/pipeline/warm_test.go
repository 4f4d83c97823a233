package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters/process"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestMinimalWarmRollbackStartsTheSetAgain keeps v1 warm with one instance
// (warmMode minimal) once v2 serves; a `git revert` starts v1's other
// instance again in the same set, and the traffic switches once both are
// healthy, with the reconciler killed while they start, under load with no
// failed request. Every instance takes 3s to pass its checks: more than
// the progress deadline, less than the start period before it.
func TestMinimalWarmRollbackStartsTheSetAgain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	text := "package " + f.Repo.Pkg() + "\n\nservices: web: {\n" +
		"\trun: env: STARTUP_DELAY: \"3s\"\n" +
		"\thealth: startPeriod: \"5s\"\n" +
		"\tstrategy: {keepWarm: 1, warmMode: \"minimal\", progressDeadline: \"2s\"}\n}\n"
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "warm.cue"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ := f.ServeV1(ctx, "Deploy web v1, kept warm with one instance")
	v1 := servingSet(ctx, t, f)
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	f.Converge(ctx, st, "canary v2", c2, "v2")
	v2 := servingSet(ctx, t, f)

	rt, err := process.New(process.Config{Root: f.ProcessRoot()})
	if err != nil {
		t.Fatal(err)
	}
	instances := func(set string) int {
		sets, err := rt.Observe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sets {
			if s.ID == set {
				return len(s.Instances)
			}
		}
		return 0
	}
	routed := func(set string) int {
		s, err := f.API.Status(ctx)
		if err != nil || s.Services[0].Placements[0].Split == nil {
			return -1
		}
		for _, b := range s.Services[0].Placements[0].Split.Backends {
			if b.Set == set {
				return len(b.Endpoints)
			}
		}
		return 0
	}
	e2etest.WaitFor(ctx, t, "warm v1 down to one instance, routed at weight 0", func() bool {
		return instances(v1) == 1 && routed(v1) == 1
	})

	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	revertSeen := s.LastSeq
	c3, err := f.Repo.Revert(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	// Kill the reconciler once v1's set is told to start again: its new
	// instance is still failing its checks; the next reconciler finishes.
	e2etest.WaitFor(ctx, t, "the scale-up of v1's set to be journaled", func() bool {
		return scaleSet(ctx, f, revertSeen, v1) != nil
	})
	f.Kill()
	time.Sleep(300 * time.Millisecond)
	f.StartReconciler(ctx)
	f.Converge(ctx, st, "git revert to warm v1", c3, "v1")
	if got := servingSet(ctx, t, f); got != v1 {
		t.Fatalf("serving %s after the rollback, want v1's warm set %s", got, v1)
	}
	if n := instances(v1); n != 2 {
		t.Fatalf("v1's set runs %d instances after the rollback, want 2", n)
	}
	up, split := scaleSet(ctx, f, revertSeen, v1), firstEntry(ctx, f, revertSeen, v1, "set-split")
	if up == nil || split == nil || split.Seq < up.Seq {
		t.Fatalf("want v1's set scaled up (%+v) before the traffic moved to it (%+v)", up, split)
	}
	e2etest.WaitFor(ctx, t, "warm v2 down to one instance", func() bool { return instances(v2) == 1 && routed(v2) == 1 })
	st.AssertNoFailedRequests(t)
	if s, err = f.API.Status(ctx); err != nil {
		t.Fatal(err)
	}
	e2etest.RunningAsJournaled(ctx, t, f, s, api.SetServing, api.SetWarm)
}

// servingSet is the infra-set serving the fixture's one placement.
func servingSet(ctx context.Context, t *testing.T, f *e2etest.Fixture) string {
	t.Helper()
	s, err := f.API.Status(ctx)
	if err != nil || len(s.Services) == 0 || len(s.Services[0].Placements) == 0 {
		t.Fatalf("status: %+v, %v", s, err)
	}
	return s.Services[0].Placements[0].Serving
}

// scaleSet is the first scale-set of set after seq that succeeded.
func scaleSet(ctx context.Context, f *e2etest.Fixture, after uint64, set string) *journal.Entry {
	return firstEntry(ctx, f, after, set, api.ActionScaleSet)
}

// firstEntry is the first successful outcome of action on set after seq.
func firstEntry(ctx context.Context, f *e2etest.Fixture, after uint64, set string, action api.Action) *journal.Entry {
	entries, err := f.API.Journal(ctx, after, 1000)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if e.Kind == api.EntryOutcome && e.Action == action && e.Set == set && e.Error == "" {
			return &e
		}
	}
	return nil
}
