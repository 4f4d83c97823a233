package reconcile

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// TestLiftedHoldDoesNotRetryAFailedRelease commits a release with hold:
// true, then lifts the hold (a new commit) and lets the rollout fail: the
// release is not started again, neither on the next pass nor after a
// commit that sets and lifts the hold once more; a commit that changes
// anything else is a new attempt.
func TestLiftedHoldDoesNotRetryAFailedRelease(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	v1 := h.service("a", schema.Health{})
	h.serve(ctx, v1, "c1")
	h.rt.startHealthy = false
	v2 := h.service("b", schema.Health{})
	v2.Strategy.ProgressDeadline.Duration = 1
	set2 := infraSetID("web", "t", v2.ReleaseID())

	at := func(revision, attempt string, hold bool) placement {
		p := h.placement(v2, revision)
		p.attempt, p.hold = attempt, hold
		return p
	}
	converge := func(p placement) {
		t.Helper()
		if _, err := h.r.converge(ctx, p); err != nil && err != errDenied {
			t.Fatalf("converge at %s: %v", p.revision, err)
		}
	}
	converge(at("c2", "c2", true)) // held: no set yet
	if n := h.rt.count(set2); n != 0 {
		t.Fatalf("a held release runs %d instances", n)
	}
	for range 3 {
		converge(at("c3", "c2", false)) // the hold lifted: created, never healthy, failed
	}
	rec, err := h.st.Rollout(ctx, at("c3", "c2", false).rolloutID(v2.ReleaseID()))
	if err != nil || rec.Phase != api.RolloutFailed || rec.FailedIn != "c2" {
		t.Fatalf("after the hold was lifted: %+v, %v", rec, err)
	}
	for _, p := range []placement{at("c3", "c2", false), at("c4", "c2", true), at("c5", "c2", false)} {
		converge(p)
		converge(p)
	}
	if n := creations(t, h.st, set2); n != 1 {
		t.Fatalf("the failed release was created %d times within one attempt", n)
	}
	for range 2 {
		converge(at("c6", "c6", false))
	}
	if n := creations(t, h.st, set2); n != 2 {
		t.Fatalf("a new attempt created the release's set %d times in all, want 2", n)
	}
}

// creations counts the journal's create-set intents of set.
func creations(t *testing.T, st journal.Store, set string) int {
	t.Helper()
	n := 0
	for _, e := range mustEntries(t, st) {
		if e.Kind == api.EntryIntent && e.Action == api.ActionCreateSet && e.Set == set {
			n++
		}
	}
	return n
}

func TestHoldOnly(t *testing.T) {
	ds := func(hold bool, artifact string) *schema.DesiredState {
		return &schema.DesiredState{Services: map[string]schema.Service{"web": {Name: "web", Artifact: artifact, Hold: hold}}}
	}
	approvals, _ := json.Marshal([]string{"a"})
	prev := journal.Revision{Commit: "c1", Attempt: "c0", Policies: map[string]string{"p.rego": "package x"}}
	for _, tc := range []struct {
		name string
		next journal.Revision
		old  *schema.DesiredState
		ds   *schema.DesiredState
		want bool
	}{
		{"hold lifted", journal.Revision{Commit: "c2", Policies: prev.Policies}, ds(true, "a"), ds(false, "a"), true},
		{"hold set", journal.Revision{Commit: "c2", Policies: prev.Policies}, ds(false, "a"), ds(true, "a"), true},
		{"nothing changed", journal.Revision{Commit: "c2", Policies: prev.Policies}, ds(false, "a"), ds(false, "a"), false},
		{"artifact changed", journal.Revision{Commit: "c2", Policies: prev.Policies}, ds(true, "a"), ds(false, "b"), false},
		{"policy changed", journal.Revision{Commit: "c2"}, ds(true, "a"), ds(false, "a"), false},
		{"approval added", journal.Revision{Commit: "c2", Policies: prev.Policies, Approvals: approvals}, ds(true, "a"), ds(false, "a"), false},
		{"first revision", journal.Revision{Commit: "c2", Policies: prev.Policies}, nil, ds(false, "a"), false},
	} {
		if got := holdOnly(prev, tc.old, tc.next, tc.ds); got != tc.want {
			t.Errorf("%s: holdOnly %v, want %v", tc.name, got, tc.want)
		}
	}
	if tc := ds(true, "a"); withoutHolds(*tc).Services["web"].Hold || !tc.Services["web"].Hold {
		t.Error("withoutHolds must clear the copy's holds, not the original's")
	}
	if attemptOf(prev) != "c0" || attemptOf(journal.Revision{Commit: "c9"}) != "c9" {
		t.Error("attemptOf")
	}
}

// TestHoldShowsInStatus: a held release's rollout shows the hold as its
// latest decision and the status is Held; once the hold is lifted, the
// rollout no longer shows it.
func TestHoldShowsInStatus(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	v1 := h.service("a", schema.Health{})
	h.serve(ctx, v1, "c1")
	v2 := h.service("b", schema.Health{})
	p := h.placement(v2, "c2")
	p.hold = true
	if _, err := h.r.converge(ctx, p); err != nil {
		t.Fatalf("a held release: %v", err)
	}
	held := *h.ds
	held.Services = map[string]schema.Service{"web": func() schema.Service { s := v2; s.Hold = true; return s }()}
	state, err := json.Marshal(held)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.st.PutRevision(ctx, journal.Revision{Commit: "c2", Verdict: api.RevisionAccepted, DesiredState: state}); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(ctx, h.st)
	if err != nil || st.Ready.Reason != api.ReasonHeld || !strings.Contains(st.Ready.Message, "hold is true for web") {
		t.Fatalf("status of a held release: %+v, %v", st.Ready, err)
	}
	rec, err := h.st.Rollout(ctx, p.rolloutID(v2.ReleaseID()))
	if err != nil || rec.Verdict == nil || rec.Verdict.Policy != policyHold {
		t.Fatalf("held rollout: %+v, %v", rec, err)
	}

	p.hold = false
	if _, err := h.r.converge(ctx, p); err != nil {
		t.Fatal(err)
	}
	if rec, err = h.st.Rollout(ctx, rec.ID); err != nil || rec.Verdict != nil || strings.Contains(rec.Message, "held") {
		t.Fatalf("after the hold was lifted, the rollout still shows it: %+v, %v", rec, err)
	}
}
