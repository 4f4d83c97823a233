package pipeline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// twoStages is the pipeline of these tests, staging then prod, each behind
// its own router; rules is added to one of the stages by setStages.
const twoStages = `[{name: "staging", targets: ["staging"]}, {name: "prod", targets: ["prod"]}]`

// journalAll reads the whole journal, page by page.
func journalAll(ctx context.Context, t *testing.T, f *e2etest.Fixture) []journal.Entry {
	t.Helper()
	var all []journal.Entry
	for {
		var after uint64
		if len(all) > 0 {
			after = all[len(all)-1].Seq
		}
		page, err := f.API.Journal(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
	}
}

// bakeJournal is what the journal says of release's bake in stage: its
// start and end events, and when the next stage made its set.
type bakeJournal struct {
	started, done []journal.Entry
	nextCreated   *journal.Entry
}

func bakeOf(entries []journal.Entry, stage, next, release string) bakeJournal {
	var b bakeJournal
	for _, e := range entries {
		switch {
		case e.Kind == api.EntryEvent && e.Action == "bake-started" && e.Stage == stage && e.Release == release:
			b.started = append(b.started, e)
		case e.Kind == api.EntryEvent && e.Action == "bake-done" && e.Stage == stage && e.Release == release:
			b.done = append(b.done, e)
		case e.Kind == api.EntryIntent && e.Action == api.ActionCreateSet && e.Stage == next && e.Release == release && b.nextCreated == nil:
			b.nextCreated = &e
		}
	}
	return b
}

// bakeDetail is the journaled detail of a bake event.
type bakeDetail struct {
	StartedAt time.Time `json:"startedAt"`
	Served    uint64    `json:"served"`
}

func detailOf(t *testing.T, e journal.Entry) bakeDetail {
	t.Helper()
	var d bakeDetail
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		t.Fatalf("bake event #%d: detail %s: %v", e.Seq, e.Detail, err)
	}
	return d
}

// stageView is one stage of the status's only service.
func stageView(s api.Status, name string) api.StageView {
	for _, sv := range s.Services[0].Stages {
		if sv.Name == name {
			return sv
		}
	}
	return api.StageView{}
}

// bakingV2 serves v1 through staging and prod under load, then commits v2
// with a bake of 4s and 500 requests in staging, and waits until v2 bakes
// there; it returns the story, v2's commit, and the status then.
func bakingV2(ctx context.Context, t *testing.T) (*e2etest.Fixture, *e2etest.Story, string, api.Status) {
	t.Helper()
	f := e2etest.New(t, ctx)
	urls := f.BehindRouters(ctx, t, twoStages, [2]string{"staging", "a"}, [2]string{"prod", "b"})
	st, _ := f.ServeV1(ctx, "Deploy web v1 to staging, then prod", urls...)
	f.SetStages(t, `[{name: "staging", targets: ["staging"], bake: {time: "4s", requests: 500}}, {name: "prod", targets: ["prod"]}]`)
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2; it bakes 4s and 500 requests in staging")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var s api.Status
	e2etest.WaitFor(ctx, t, "v2 to bake in staging", func() bool {
		var err error
		s, err = f.API.Status(ctx)
		if err != nil || s.Applied == nil || s.Applied.Commit != c2 {
			return false
		}
		b := stageView(s, "staging").Bake
		return b != nil && b.Release == s.Services[0].Release && !b.StartedAt.IsZero()
	})
	return f, st, c2, s
}

// TestStageBakeHoldsTheNextStage gives staging a bake of 4s and 500
// requests: v2 serves all of staging, bakes there (status shows its
// progress), and prod makes its set for v2 only after the bake ended, as
// the journal shows.
func TestStageBakeHoldsTheNextStage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, st, c2, s := bakingV2(ctx, t)
	v2 := s.Services[0].Release
	b := stageView(s, "staging").Bake
	if b.Done || b.Time.Duration != 4*time.Second || b.Requests != 500 || stageView(s, "prod").InFlight["prod"] == v2 {
		t.Fatalf("while v2 bakes: staging's bake %+v, prod %+v", b, stageView(s, "prod"))
	}
	f.Converge(ctx, st, "v2 through staging, its bake, then prod", c2, "v2")

	bk := bakeOf(journalAll(ctx, t, f), "staging", "prod", v2)
	if len(bk.started) != 1 || len(bk.done) != 1 || bk.nextCreated == nil {
		t.Fatalf("journal: %d bake start(s), %d end(s), prod's set of v2 %v; want one each", len(bk.started), len(bk.done), bk.nextCreated)
	}
	start, end := bk.started[0], bk.done[0]
	d := detailOf(t, end)
	if !(start.Seq < end.Seq && end.Seq < bk.nextCreated.Seq) || end.Time.Sub(start.Time) < 4*time.Second || d.Served < 500 {
		t.Fatalf("journal: bake started #%d at %s, ended #%d at %s after %d requests, prod's set #%d; want start < end (4s and 500 requests later) < prod's set",
			start.Seq, start.Time, end.Seq, end.Time, d.Served, bk.nextCreated.Seq)
	}
	t.Logf("bake: %s; %s", start.Message, end.Message)
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b := stageView(s, "staging").Bake; b == nil || !b.Done || b.Release != v2 || b.Served < 500 || b.Elapsed.Duration < 4*time.Second {
		t.Fatalf("status after the bake: %+v", b)
	}
	st.AssertNoFailedRequests(t)
}

// TestStageBakeResumesAfterRestart kills the reconciler with SIGKILL while
// v2 bakes in staging and restarts it: the same bake goes on, from its
// journaled start and request baseline; it is neither started again nor
// skipped.
func TestStageBakeResumesAfterRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, st, c2, s := bakingV2(ctx, t)
	v2 := s.Services[0].Release
	before := stageView(s, "staging").Bake
	if before.Done {
		t.Fatalf("the bake ended before the kill: %+v", before)
	}
	f.Kill()
	time.Sleep(time.Second) // the load goes on against staging's v2 meanwhile
	f.StartReconciler(ctx)
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b := stageView(s, "staging").Bake; b == nil || b.Release != v2 || !b.StartedAt.Equal(before.StartedAt) {
		t.Fatalf("after the restart, staging's bake is %+v; want the one started at %s", b, before.StartedAt)
	}
	f.Converge(ctx, st, "v2 through staging's resumed bake, then prod", c2, "v2")

	bk := bakeOf(journalAll(ctx, t, f), "staging", "prod", v2)
	if len(bk.started) != 1 || len(bk.done) != 1 || bk.nextCreated == nil {
		t.Fatalf("journal: %d bake start(s), %d end(s), prod's set of v2 %v; want one bake, resumed", len(bk.started), len(bk.done), bk.nextCreated)
	}
	started, ended := detailOf(t, bk.started[0]), detailOf(t, bk.done[0])
	if !ended.StartedAt.Equal(started.StartedAt) || !started.StartedAt.Equal(before.StartedAt) || bk.done[0].Time.Sub(started.StartedAt) < 4*time.Second ||
		bk.done[0].Seq > bk.nextCreated.Seq {
		t.Fatalf("bake started at %s (status before the kill: %s), ended at %s for a start at %s; prod's set #%d, bake end #%d",
			started.StartedAt, before.StartedAt, bk.done[0].Time, ended.StartedAt, bk.nextCreated.Seq, bk.done[0].Seq)
	}
	st.AssertNoFailedRequests(t)
}

// TestStageGateHoldsUntilApproved gives prod a gate of one approval: v2
// goes through staging and is held before prod by builtin/stage-gate, with
// the command to approve it; `durable approve` releases it.
func TestStageGateHoldsUntilApproved(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	urls := f.BehindRouters(ctx, t, twoStages, [2]string{"staging", "a"}, [2]string{"prod", "b"})
	st, _ := f.ServeV1(ctx, "Deploy web v1 to staging, then prod", urls...)
	f.SetStages(t, `[{name: "staging", targets: ["staging"]}, {name: "prod", targets: ["prod"], gate: {approvals: 1}}]`)
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2; prod needs an approval")
	f.Judged(ctx, t, c2)

	var s api.Status
	var prod api.PlacementStatus
	e2etest.WaitFor(ctx, t, "the stage gate to hold v2 before prod", func() bool {
		var err error
		if s, err = f.API.Status(ctx); err != nil || len(s.Services) == 0 {
			return false
		}
		prod = s.Services[0].Placements[1]
		return prod.Rollout != nil && prod.Rollout.Verdict != nil && prod.Rollout.Verdict.Policy == "builtin/stage-gate"
	})
	v2 := s.Services[0].Release
	approve := "durable approve " + v2[:12] + " --stage prod"
	if v := prod.Rollout.Verdict; v.Result != "hold" || prod.Rollout.Release != v2 || len(v.Reasons) != 1 ||
		!strings.Contains(v.Reasons[0], "has 0 of 1 approval(s)") || !strings.Contains(v.Reasons[0], approve) {
		t.Fatalf("held rollout in prod: %+v, verdict %+v", prod.Rollout, prod.Rollout.Verdict)
	}
	if g := stageView(s, "prod").Gate; g == nil || g.Release != v2 || g.Approvals != 1 || len(g.Approvers) != 0 || g.Approve != approve {
		t.Fatalf("prod's gate in status: %+v", g)
	}
	time.Sleep(time.Second) // held: prod keeps serving v1
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	staging, prod := s.Services[0].Placements[0], s.Services[0].Placements[1]
	if e2etest.SetByID(staging, staging.Serving).Release != v2 || e2etest.SetByID(prod, prod.Serving).Artifact != f.Artifacts["v1"] {
		t.Fatalf("while held: staging %+v, prod %+v", staging, prod)
	}
	for _, set := range prod.Sets {
		if set.Release == v2 {
			t.Fatalf("v2's set was made in prod while held: %+v", set)
		}
	}

	approval := f.Approve(ctx, t, v2[:12], "prod", "--reason", "staging looked fine")
	f.Converge(ctx, st, "v2 approved for prod", approval, "v2")
	if s, err = f.API.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if g := stageView(s, "prod").Gate; g == nil || len(g.Approvers) != 1 || g.Approvers[0] != "alice@example.com" || g.Approve != "" {
		t.Fatalf("prod's gate once approved: %+v", g)
	}
	held := false
	for _, e := range journalAll(ctx, t, f) {
		if e.Kind == api.EntryDecision && e.Policy == "builtin/stage-gate" && e.Result == "hold" && e.Stage == "prod" && e.Release == v2 {
			held = true
		}
	}
	if !held {
		t.Fatal("no builtin/stage-gate hold journaled")
	}
	st.AssertNoFailedRequests(t)
}
