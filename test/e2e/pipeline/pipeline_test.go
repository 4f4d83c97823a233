package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestPipelinePromotesStageByStage runs a two-stage pipeline (staging, then
// prod, each behind its own router) under load: a release reaches prod only
// once staging has promoted it, and a bad release caught in staging never
// reaches prod, which keeps serving with no failed request.
func TestPipelinePromotesStageByStage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	urls := f.BehindRouters(ctx, t, `[{name: "staging", targets: ["staging"]}, {name: "prod", targets: ["prod"]}]`,
		[2]string{"staging", "a"}, [2]string{"prod", "b"})
	// Only prod's load counts: the bad release fails requests in staging.
	st, _ := f.ServeV1(ctx, "Deploy web v1 to staging, then prod", urls[1])
	staging := harness.StartLoad(ctx, urls[0], 2, 5*time.Millisecond)
	t.Cleanup(staging.Stop)

	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	f.Converge(ctx, st, "canary v2 in staging, then in prod", c2, "v2")
	entries, err := f.API.Journal(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v2 := s.Services[0].Release
	// Prod's infra-set for v2 is created only after staging moved all of
	// its traffic to v2: its two canary steps and the switch to 100% come
	// first in the journal.
	var prodCreated uint64
	for _, e := range entries {
		if e.Kind == api.EntryIntent && e.Action == api.ActionCreateSet && e.Stage == "prod" && e.Release == v2 {
			prodCreated = e.Seq
			break
		}
	}
	stagingSplits := 0
	for _, e := range entries {
		if e.Kind == api.EntryOutcome && e.Action == api.ActionSetSplit && e.Stage == "staging" && e.Release == v2 && e.Error == "" && e.Seq < prodCreated {
			stagingSplits++
		}
	}
	if prodCreated == 0 || stagingSplits != 3 {
		t.Fatalf("journal: prod's create-set of v2 is #%d, after %d of staging's splits to v2; want it after all 3 (10%%, 50%%, 100%%)", prodCreated, stagingSplits)
	}
	if !harness.ServesCommit(s, c2) {
		t.Fatalf("v2 does not serve everywhere: %+v", s)
	}

	c3 := f.Commit(ctx, f.Artifacts["v2"], `{FAIL_RATE: "0.2"}`, "Deploy a bad web v2")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	e2etest.WaitFor(ctx, t, "staging to roll the bad release back", func() bool {
		s, err := f.API.Status(ctx)
		if err != nil || s.Applied == nil || s.Applied.Commit != c3 {
			return false
		}
		pl := s.Services[0].Placements[0]
		return pl.Stage == "staging" && pl.Rollout != nil && pl.Rollout.Release == s.Services[0].Release && pl.Rollout.Phase == api.RolloutFailed
	})
	time.Sleep(2 * time.Second) // prod must not move
	s, err = f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad := s.Services[0].Release
	prod := s.Services[0].Placements[1]
	if prod.Stage != "prod" || prod.Rollout == nil || prod.Rollout.Release != v2 || e2etest.SetByID(prod, prod.Serving).Release != v2 {
		t.Fatalf("prod after the bad release: %+v", prod)
	}
	for _, set := range prod.Sets {
		if set.Release == bad {
			t.Fatalf("the bad release reached prod: %+v", set)
		}
	}
	st.AssertNoFailedRequests(t) // prod's load
}

// TestOneZoneAtATime rolls v2 out to a stage with a target in each of two
// zones, each behind its own router: the second zone's infra-set is made
// only once the first zone serves v2 (parallelism 1, the default).
func TestOneZoneAtATime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	urls := f.BehindRouters(ctx, t, `[{name: "prod", targets: ["prod-a", "prod-b"]}]`, [2]string{"prod-a", "a"}, [2]string{"prod-b", "b"})
	st, _ := f.ServeV1(ctx, "Deploy web v1 to both zones", urls...)

	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	f.Converge(ctx, st, "canary v2 zone by zone", c2, "v2")
	entries, err := f.API.Journal(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v2 := s.Services[0].Release
	// Zone a's two canary steps and its switch to 100% all come before
	// zone b's set for v2 is made; zone b's wait is journaled.
	var created []string
	aSplits, waited := 0, false
	for _, e := range entries {
		switch {
		case e.Kind == api.EntryIntent && e.Action == api.ActionCreateSet && e.Release == v2:
			created = append(created, e.Target)
		case e.Kind == api.EntryOutcome && e.Action == api.ActionSetSplit && e.Target == "prod-a" && e.Release == v2 && len(created) < 2:
			aSplits++
		case e.Kind == api.EntryDecision && e.Policy == "builtin/zones" && e.Target == "prod-b":
			waited = true
		}
	}
	if len(created) != 2 || created[0] != "prod-a" || aSplits != 3 || !waited {
		t.Fatalf("sets created in %v; zone a's splits before zone b's set: %d, want 3; zone b waited: %v", created, aSplits, waited)
	}
	st.AssertNoFailedRequests(t) // in both zones
}

// TestFIFOThroughThreeStages runs staging → canary → prod, each behind its
// own router, under load: v2 is promoted through all three; v3 is committed
// while v2 is still in flight in a later stage, goes through the earlier
// stages meanwhile, and reaches each stage only after v2 finished there.
func TestFIFOThroughThreeStages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	urls := f.BehindRouters(ctx, t, `[{name: "staging", targets: ["staging"]}, {name: "canary", targets: ["canary"]}, {name: "prod", targets: ["prod"]}]`,
		[2]string{"staging", "a"}, [2]string{"canary", "b"}, [2]string{"prod", "c"})
	st, _ := f.ServeV1(ctx, "Deploy web v1 through three stages", urls...)

	f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var v2 string
	e2etest.WaitFor(ctx, t, "v2 to be in flight beyond staging", func() bool {
		s, err := f.API.Status(ctx)
		if err != nil || len(s.Services) == 0 {
			return false
		}
		v2 = s.Services[0].Release
		for _, pl := range s.Services[0].Placements {
			if pl.Stage != "staging" && pl.Rollout != nil && pl.Rollout.Release == v2 && !pl.Rollout.Done() {
				return true
			}
		}
		return false
	})
	c3 := f.Commit(ctx, f.Artifacts["v2"], `{RELEASE_NOTE: "v3"}`, "Deploy web v3 while v2 is in flight")
	f.Converge(ctx, st, "v3 through the three stages, after v2", c3, "v2")
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v3 := s.Services[0].Release
	entries, err := f.API.Journal(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	// In every stage, v2's switch to 100% (its last split) comes before
	// v3's set is made there; and v3 enters staging before v2 is done in
	// the later stages: two releases in the pipeline at once.
	lastSplit, created := map[string]uint64{}, map[string]uint64{}
	for _, e := range entries {
		switch {
		case e.Kind == api.EntryOutcome && e.Action == api.ActionSetSplit && e.Release == v2 && e.Error == "":
			lastSplit[e.Stage] = e.Seq
		case e.Kind == api.EntryIntent && e.Action == api.ActionCreateSet && e.Release == v3 && created[e.Stage] == 0:
			created[e.Stage] = e.Seq
		}
	}
	for _, stage := range []string{"staging", "canary", "prod"} {
		if created[stage] == 0 || lastSplit[stage] == 0 || created[stage] < lastSplit[stage] {
			t.Fatalf("stage %s: v2's last split #%d, v3's set #%d: v3 must come after v2", stage, lastSplit[stage], created[stage])
		}
	}
	if created["staging"] > lastSplit["prod"] {
		t.Fatalf("v3 entered staging (#%d) only after v2 was done in prod (#%d): the pipeline held one release at a time", created["staging"], lastSplit["prod"])
	}
	st.AssertNoFailedRequests(t)
}
