package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
)

// writePolicy adds a Rego file to the fixture's repository.
func (f *fixture) writePolicy(name, text string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.repo.dir, "policy", name), []byte(text), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// headJudged waits until the reconciler has judged commit.
func headJudged(ctx context.Context, t *testing.T, f *fixture, commit string) api.Status {
	t.Helper()
	if err := f.api.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var s api.Status
	waitFor(ctx, t, "revision "+commit[:10]+" to be judged", func() bool {
		var err error
		s, err = f.api.Status(ctx)
		return err == nil && s.Head != nil && s.Head.Commit == commit
	})
	return s
}

// TestPolicyRejectsRevisionAndRunningReleaseStays commits, under load, a
// policy that does not compile and then a change the admission policy
// denies: both revisions are rejected with their reasons, v1 keeps serving
// with no failed request, and the change is admitted once it complies.
func TestPolicyRejectsRevisionAndRunningReleaseStays(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, c1 := servingV1UnderLoad(t, ctx)

	f.writePolicy("ticket.rego", "package durable.admission\n\ndeny contains msg if {\n\tmsg := \n}\n")
	broken, err := f.repo.commit(ctx, "A policy that does not compile")
	if err != nil {
		t.Fatal(err)
	}
	s := headJudged(ctx, t, f, broken)
	if s.Head.Verdict != api.RevisionRejected || len(s.Head.Errors) == 0 || !strings.HasPrefix(s.Head.Errors[0], "policy/ticket.rego:5:1:") {
		t.Fatalf("broken policy: verdict %s, errors %q; want rejected at policy/ticket.rego:5:1", s.Head.Verdict, s.Head.Errors)
	}

	f.writePolicy("ticket.rego", `package durable.admission

# Every change names its ticket in a "Ticket:" trailer; rollbacks need none.
deny contains "every change needs a Ticket: trailer in its commit message" if {
	not input.change.rollback
	not input.commit.trailers.Ticket
}
`)
	if _, err := f.repo.commit(ctx, "Require a ticket\n\nTicket: OPS-1"); err != nil {
		t.Fatal(err)
	}
	c2 := f.commit(ctx, f.artifacts["v2"], "", "Deploy v2 without a ticket")
	s = headJudged(ctx, t, f, c2)
	if s.Head.Verdict != api.RevisionRejected || len(s.Head.Errors) != 1 ||
		!strings.Contains(s.Head.Errors[0], "denied by policy repository@"+c2[:12]+": every change needs a Ticket: trailer") {
		t.Fatalf("denied revision: verdict %s, errors %q", s.Head.Verdict, s.Head.Errors)
	}
	if s.Ready.Reason != "RevisionRejected" || s.Applied == nil || s.Applied.Commit == c2 || s.Services[0].Release == "" {
		t.Fatalf("status after the denial: %+v", s)
	}
	for _, p := range s.Services[0].Placements {
		if serving := setByID(p, p.Serving); serving == nil || serving.Artifact != f.artifacts["v1"] {
			t.Fatalf("v1 no longer serves after the denial: %+v", p)
		}
	}
	_ = c1
	time.Sleep(time.Second) // the load keeps going against v1

	if err := os.WriteFile(filepath.Join(f.repo.dir, "env.cue"), []byte("package "+f.repo.pkg()+"\n\nservices: web: run: env: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c3, err := f.repo.commit(ctx, "Deploy v2\n\nTicket: OPS-2")
	if err != nil {
		t.Fatal(err)
	}
	f.converge(ctx, st, "deploy v2 with its ticket", c3, "v2")
	st.assertNoFailedRequests(t)
	assertDecisionJournaled(ctx, t, f, "admission", "deny")
}

// TestGateHoldsUntilApproval has a gate policy hold the traffic switch of a
// new release until the release is approved; `durable approve` makes the
// approval commit, and the switch happens with no failed request.
func TestGateHoldsUntilApproval(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, _ := servingV1UnderLoad(t, ctx)

	f.writePolicy("approval.rego", `package durable.gate

# A new release gets traffic only once approved for its stage.
hold contains msg if {
	input.step.kind == "promote"
	not input.release.rollback
	not approved
	msg := sprintf("release %s waits for an approval for stage %s", [substring(input.release.id, 0, 12), input.stage.name])
}

approved if {
	some a in input.approvals
	a.stage == input.stage.name
}
`)
	c2 := f.commit(ctx, f.artifacts["v2"], "", "Deploy v2, approval required")
	headJudged(ctx, t, f, c2)

	var held api.PlacementStatus
	waitFor(ctx, t, "the gate to hold v2", func() bool {
		s, err := f.api.Status(ctx)
		if err != nil || len(s.Services) == 0 {
			return false
		}
		held = s.Services[0].Placements[0]
		return held.Rollout != nil && held.Rollout.Verdict != nil && held.Rollout.Verdict.Result == "hold"
	})
	if !strings.Contains(held.Rollout.Message, "waits for an approval for stage local") || !hasSetInState(api.Status{Services: []api.ServiceStatus{{Placements: []api.PlacementStatus{held}}}}, api.SetReady) {
		t.Fatalf("held rollout: %+v", held.Rollout)
	}
	if serving := setByID(held, held.Serving); serving == nil || serving.Artifact != f.artifacts["v1"] {
		t.Fatalf("v1 must serve while v2 is held: %+v", held)
	}
	time.Sleep(2 * time.Second) // held: nothing moves, the load goes on against v1
	if s, err := f.api.Status(ctx); err != nil || setByID(s.Services[0].Placements[0], s.Services[0].Placements[0].Serving).Artifact != f.artifacts["v1"] {
		t.Fatalf("traffic moved while held: %+v, %v", s, err)
	}

	approval := f.approve(ctx, t, held.Rollout.Release, "local", "--reason", "checked the canary")
	f.converge(ctx, st, "v2 approved", approval, "v2")
	st.assertNoFailedRequests(t)
	assertDecisionJournaled(ctx, t, f, "gate", "hold")
}

func setByID(p api.PlacementStatus, id string) *api.SetStatus {
	for i := range p.Sets {
		if p.Sets[i].ID == id {
			return &p.Sets[i]
		}
	}
	return nil
}

// assertDecisionJournaled checks that the journal holds a decision of the
// entry point with the result, with its input digest and policy source.
func assertDecisionJournaled(ctx context.Context, t *testing.T, f *fixture, entry, result string) {
	t.Helper()
	entries, err := f.api.Journal(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Kind == api.EntryDecision && e.EntryPoint == entry && e.Result == result {
			if !strings.HasPrefix(e.InputDigest, "sha256:") || !strings.HasPrefix(e.Policy, "repository@") || len(e.Reasons) == 0 {
				t.Fatalf("decision record incomplete: %+v", e)
			}
			return
		}
	}
	t.Fatalf("no %s decision %q in the journal", entry, result)
}

// TestHoldCommitPausesAndResumes commits v2 with `hold: true`: the rollout
// waits before its infra-set is made, v1 serves; a commit setting hold back
// to false lets it go on, with no failed request.
func TestHoldCommitPausesAndResumes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, _ := servingV1UnderLoad(t, ctx)
	hold := func(on bool) {
		t.Helper()
		text := fmt.Sprintf("package %s\n\nservices: web: hold: %t\n", f.repo.pkg(), on)
		if err := os.WriteFile(filepath.Join(f.repo.dir, "hold.cue"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hold(true)
	c2 := f.commit(ctx, f.artifacts["v2"], "", "Deploy web v2, on hold")
	headJudged(ctx, t, f, c2)
	var pl api.PlacementStatus
	waitFor(ctx, t, "the hold to pause v2", func() bool {
		s, err := f.api.Status(ctx)
		if err != nil || len(s.Services) == 0 {
			return false
		}
		pl = s.Services[0].Placements[0]
		return pl.Rollout != nil && pl.Rollout.Verdict != nil && pl.Rollout.Verdict.Policy == "builtin/hold"
	})
	if pl.Rollout.Verdict.Result != "hold" || !strings.Contains(pl.Rollout.Message, "services.web.hold is true") {
		t.Fatalf("held rollout: %+v", pl.Rollout)
	}
	for _, s := range pl.Sets {
		if s.Artifact == f.artifacts["v2"] {
			t.Fatalf("v2's infra-set was made while on hold: %+v", s)
		}
	}
	time.Sleep(time.Second)
	hold(false)
	c3, err := f.repo.commit(ctx, "Release the hold")
	if err != nil {
		t.Fatal(err)
	}
	f.converge(ctx, st, "v2 once the hold is released", c3, "v2")
	st.assertNoFailedRequests(t)
}
