package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-delivery/durable/reconcile/store"
)

// startRouter runs one more `durable router` for the test and returns its
// proxy URL and admin address.
func startRouter(ctx context.Context, t *testing.T, dir, name string) (string, string) {
	t.Helper()
	listen, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	admin, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := startChild(name, durableBin, filepath.Join(dir, name+".log"), "router", "--listen", listen, "--admin", admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.stop(5 * time.Second) })
	if err := rt.waitHealthy(ctx, "http://"+admin+"/healthz"); err != nil {
		t.Fatal(err)
	}
	return "http://" + listen + "/", admin
}

// TestPipelinePromotesStageByStage runs a two-stage pipeline (staging, then
// prod, each behind its own router) under load: a release reaches prod only
// once staging has promoted it, and a bad release caught in staging never
// reaches prod, which keeps serving with no failed request.
func TestPipelinePromotesStageByStage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := newFixture(t, ctx)
	stagingURL, stagingAdmin := f.router, f.routerAdmin
	prodURL, prodAdmin := startRouter(ctx, t, f.dir, "router-prod")
	targets := fmt.Sprintf(`package %s

targets: staging: {zone: "a", runtime: kind: "process", traffic: {kind: "router", admin: %q}}
targets: prod: {zone: "b", runtime: kind: "process", traffic: {kind: "router", admin: %q}}
pipeline: stages: [{name: "staging", targets: ["staging"]}, {name: "prod", targets: ["prod"]}]
`, f.repo.pkg(), stagingAdmin, prodAdmin)
	if err := os.WriteFile(filepath.Join(f.repo.dir, "targets.cue"), []byte(targets), 0o644); err != nil {
		t.Fatal(err)
	}

	st := f.story()
	c1 := f.commit(ctx, f.artifacts["v1"], "", "Deploy web v1 to staging, then prod")
	f.startReconciler(ctx)
	if !st.phase(ctx, "deploy v1 through the pipeline", c1, "v1") {
		t.Fatalf("v1 did not converge:\n%s", f.logs())
	}
	staging := startLoad(ctx, stagingURL, 2, 5*time.Millisecond)
	t.Cleanup(staging.stop)
	st.load = startLoad(ctx, prodURL, 2, 5*time.Millisecond)
	t.Cleanup(st.load.stop)

	c2 := f.commit(ctx, f.artifacts["v2"], "", "Deploy web v2")
	f.converge(ctx, st, "canary v2 in staging, then in prod", c2, "v2")
	entries, err := f.api.Journal(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v2 := s.Services[0].Release
	// Prod's infra-set for v2 is created only after staging moved all of
	// its traffic to v2: its two canary steps and the switch to 100% come
	// first in the journal.
	var prodCreated uint64
	for _, e := range entries {
		if e.Kind == store.EntryIntent && e.Action == "create-set" && e.Stage == "prod" && e.Release == v2 {
			prodCreated = e.Seq
			break
		}
	}
	stagingSplits := 0
	for _, e := range entries {
		if e.Kind == store.EntryOutcome && e.Action == "set-split" && e.Stage == "staging" && e.Release == v2 && e.Error == "" && e.Seq < prodCreated {
			stagingSplits++
		}
	}
	if prodCreated == 0 || stagingSplits != 3 {
		t.Fatalf("journal: prod's create-set of v2 is #%d, after %d of staging's splits to v2; want it after all 3 (10%%, 50%%, 100%%)", prodCreated, stagingSplits)
	}
	if !servesCommit(s, c2) {
		t.Fatalf("v2 does not serve everywhere: %+v", s)
	}

	c3 := f.commit(ctx, f.artifacts["v2"], `{FAIL_RATE: "0.2"}`, "Deploy a bad web v2")
	if err := f.api.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "staging to roll the bad release back", func() bool {
		s, err := f.api.Status(ctx)
		if err != nil || s.Applied == nil || s.Applied.Commit != c3 {
			return false
		}
		pl := s.Services[0].Placements[0]
		return pl.Stage == "staging" && pl.Rollout != nil && pl.Rollout.Release == s.Services[0].Release && pl.Rollout.Phase == store.RolloutFailed
	})
	time.Sleep(2 * time.Second) // prod must not move
	s, err = f.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad := s.Services[0].Release
	prod := s.Services[0].Placements[1]
	if prod.Stage != "prod" || prod.Rollout == nil || prod.Rollout.Release != v2 || setByID(prod, prod.Serving).Release != v2 {
		t.Fatalf("prod after the bad release: %+v", prod)
	}
	for _, set := range prod.Sets {
		if set.Release == bad {
			t.Fatalf("the bad release reached prod: %+v", set)
		}
	}
	st.assertNoFailedRequests(t) // prod's load
}

// TestOneZoneAtATime rolls v2 out to a stage with a target in each of two
// zones, each behind its own router: the second zone's infra-set is made
// only once the first zone serves v2 (parallelism 1, the default).
func TestOneZoneAtATime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := newFixture(t, ctx)
	urlA, adminA := f.router, f.routerAdmin
	urlB, adminB := startRouter(ctx, t, f.dir, "router-b")
	targets := fmt.Sprintf(`package %s

targets: "prod-a": {zone: "a", runtime: kind: "process", traffic: {kind: "router", admin: %q}}
targets: "prod-b": {zone: "b", runtime: kind: "process", traffic: {kind: "router", admin: %q}}
pipeline: stages: [{name: "prod", targets: ["prod-a", "prod-b"]}]
`, f.repo.pkg(), adminA, adminB)
	if err := os.WriteFile(filepath.Join(f.repo.dir, "targets.cue"), []byte(targets), 0o644); err != nil {
		t.Fatal(err)
	}
	st := f.story()
	c1 := f.commit(ctx, f.artifacts["v1"], "", "Deploy web v1 to both zones")
	f.startReconciler(ctx)
	if !st.phase(ctx, "deploy v1", c1, "v1") {
		t.Fatalf("v1 did not converge:\n%s", f.logs())
	}
	loadA := startLoad(ctx, urlA, 2, 5*time.Millisecond)
	t.Cleanup(loadA.stop)
	st.load = startLoad(ctx, urlB, 2, 5*time.Millisecond)
	t.Cleanup(st.load.stop)

	c2 := f.commit(ctx, f.artifacts["v2"], "", "Deploy web v2")
	f.converge(ctx, st, "canary v2 zone by zone", c2, "v2")
	entries, err := f.api.Journal(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.api.Status(ctx)
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
		case e.Kind == store.EntryIntent && e.Action == "create-set" && e.Release == v2:
			created = append(created, e.Target)
		case e.Kind == store.EntryOutcome && e.Action == "set-split" && e.Target == "prod-a" && e.Release == v2 && len(created) < 2:
			aSplits++
		case e.Kind == store.EntryDecision && e.Policy == "builtin/zones" && e.Target == "prod-b":
			waited = true
		}
	}
	if len(created) != 2 || created[0] != "prod-a" || aSplits != 3 || !waited {
		t.Fatalf("sets created in %v; zone a's splits before zone b's set: %d, want 3; zone b waited: %v", created, aSplits, waited)
	}
	st.assertNoFailedRequests(t)
	if _, failed, _ := loadA.stats(); failed != 0 {
		t.Fatalf("%d requests failed in zone a", failed)
	}
}

// TestFIFOThroughThreeStages runs staging → canary → prod, each behind its
// own router, under load: v2 is promoted through all three; v3 is committed
// while v2 is still in flight in a later stage, goes through the earlier
// stages meanwhile, and reaches each stage only after v2 finished there.
func TestFIFOThroughThreeStages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	f := newFixture(t, ctx)
	urls, admins := []string{f.router}, []string{f.routerAdmin}
	for _, name := range []string{"router-canary", "router-prod"} {
		u, a := startRouter(ctx, t, f.dir, name)
		urls, admins = append(urls, u), append(admins, a)
	}
	targets := fmt.Sprintf(`package %s

targets: staging: {zone: "a", runtime: kind: "process", traffic: {kind: "router", admin: %q}}
targets: canary: {zone: "b", runtime: kind: "process", traffic: {kind: "router", admin: %q}}
targets: prod: {zone: "c", runtime: kind: "process", traffic: {kind: "router", admin: %q}}
pipeline: stages: [{name: "staging", targets: ["staging"]}, {name: "canary", targets: ["canary"]}, {name: "prod", targets: ["prod"]}]
`, f.repo.pkg(), admins[0], admins[1], admins[2])
	if err := os.WriteFile(filepath.Join(f.repo.dir, "targets.cue"), []byte(targets), 0o644); err != nil {
		t.Fatal(err)
	}
	st := f.story()
	c1 := f.commit(ctx, f.artifacts["v1"], "", "Deploy web v1 through three stages")
	f.startReconciler(ctx)
	if !st.phase(ctx, "deploy v1", c1, "v1") {
		t.Fatalf("v1 did not converge:\n%s", f.logs())
	}
	st.load = startLoadOn(ctx, urls, "", 3, 5*time.Millisecond)
	t.Cleanup(st.load.stop)

	f.commit(ctx, f.artifacts["v2"], "", "Deploy web v2")
	if err := f.api.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var v2 string
	waitFor(ctx, t, "v2 to be in flight beyond staging", func() bool {
		s, err := f.api.Status(ctx)
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
	c3 := f.commit(ctx, f.artifacts["v2"], `{RELEASE_NOTE: "v3"}`, "Deploy web v3 while v2 is in flight")
	f.converge(ctx, st, "v3 through the three stages, after v2", c3, "v2")
	s, err := f.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v3 := s.Services[0].Release
	entries, err := f.api.Journal(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	// In every stage, v2's switch to 100% (its last split) comes before
	// v3's set is made there; and v3 enters staging before v2 is done in
	// the later stages: two releases in the pipeline at once.
	lastSplit, created := map[string]uint64{}, map[string]uint64{}
	for _, e := range entries {
		switch {
		case e.Kind == store.EntryOutcome && e.Action == "set-split" && e.Release == v2 && e.Error == "":
			lastSplit[e.Stage] = e.Seq
		case e.Kind == store.EntryIntent && e.Action == "create-set" && e.Release == v3 && created[e.Stage] == 0:
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
	st.assertNoFailedRequests(t)
}
