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
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestPolicyRejectsRevisionAndRunningReleaseStays commits, under load, a
// policy that does not compile and then a change the admission policy
// denies: both revisions are rejected with their reasons, v1 keeps serving
// with no failed request, and the change is admitted once it complies.
func TestPolicyRejectsRevisionAndRunningReleaseStays(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, c1 := e2etest.ServingV1UnderLoad(t, ctx)

	f.WritePolicy("ticket.rego", "package durable.admission\n\ndeny contains msg if {\n\tmsg := \n}\n")
	broken, err := f.Repo.Commit(ctx, "A policy that does not compile")
	if err != nil {
		t.Fatal(err)
	}
	s := f.Judged(ctx, t, broken)
	if s.Head.Verdict != api.RevisionRejected || len(s.Head.Errors) == 0 || !strings.HasPrefix(s.Head.Errors[0], "policy/ticket.rego:5:1:") {
		t.Fatalf("broken policy: verdict %s, errors %q; want rejected at policy/ticket.rego:5:1", s.Head.Verdict, s.Head.Errors)
	}

	f.WritePolicy("ticket.rego", `package durable.admission

# Every change names its ticket in a "Ticket:" trailer; rollbacks need none.
deny contains "every change needs a Ticket: trailer in its commit message" if {
	not input.change.rollback
	not input.commit.trailers.Ticket
}
`)
	if _, err := f.Repo.Commit(ctx, "Require a ticket\n\nTicket: OPS-1"); err != nil {
		t.Fatal(err)
	}
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy v2 without a ticket")
	s = f.Judged(ctx, t, c2)
	if s.Head.Verdict != api.RevisionRejected || len(s.Head.Errors) != 1 ||
		!strings.Contains(s.Head.Errors[0], "denied by policy repository@"+c2[:12]+": every change needs a Ticket: trailer") {
		t.Fatalf("denied revision: verdict %s, errors %q", s.Head.Verdict, s.Head.Errors)
	}
	if s.Ready.Reason != api.ReasonRevisionRejected || s.Applied == nil || s.Applied.Commit == c2 || s.Services[0].Release == "" {
		t.Fatalf("status after the denial: %+v", s)
	}
	for _, p := range s.Services[0].Placements {
		if serving := e2etest.SetByID(p, p.Serving); serving == nil || serving.Artifact != f.Artifacts["v1"] {
			t.Fatalf("v1 no longer serves after the denial: %+v", p)
		}
	}
	_ = c1
	time.Sleep(time.Second) // the load keeps going against v1

	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "env.cue"), []byte("package "+f.Repo.Pkg()+"\n\nservices: web: run: env: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c3, err := f.Repo.Commit(ctx, "Deploy v2\n\nTicket: OPS-2")
	if err != nil {
		t.Fatal(err)
	}
	f.Converge(ctx, st, "deploy v2 with its ticket", c3, "v2")
	st.AssertNoFailedRequests(t)
	assertDecisionJournaled(ctx, t, f, "admission", "deny")
}

// TestGateHoldsUntilApproval has a gate policy hold the traffic switch of a
// new release until the release is approved; `durable approve` makes the
// approval commit, and the switch happens with no failed request.
func TestGateHoldsUntilApproval(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, _ := e2etest.ServingV1UnderLoad(t, ctx)

	f.WritePolicy("approval.rego", `package durable.gate

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
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy v2, approval required")
	f.Judged(ctx, t, c2)

	var held api.PlacementStatus
	e2etest.WaitFor(ctx, t, "the gate to hold v2", func() bool {
		s, err := f.API.Status(ctx)
		if err != nil || len(s.Services) == 0 {
			return false
		}
		held = s.Services[0].Placements[0]
		return held.Rollout != nil && held.Rollout.Verdict != nil && held.Rollout.Verdict.Result == "hold"
	})
	if !strings.Contains(held.Rollout.Message, "waits for an approval for stage local") || !e2etest.HasSetInState(api.Status{Services: []api.ServiceStatus{{Placements: []api.PlacementStatus{held}}}}, api.SetReady) {
		t.Fatalf("held rollout: %+v", held.Rollout)
	}
	if serving := e2etest.SetByID(held, held.Serving); serving == nil || serving.Artifact != f.Artifacts["v1"] {
		t.Fatalf("v1 must serve while v2 is held: %+v", held)
	}
	time.Sleep(2 * time.Second) // held: nothing moves, the load goes on against v1
	if s, err := f.API.Status(ctx); err != nil || e2etest.SetByID(s.Services[0].Placements[0], s.Services[0].Placements[0].Serving).Artifact != f.Artifacts["v1"] {
		t.Fatalf("traffic moved while held: %+v, %v", s, err)
	}

	approval := f.Approve(ctx, t, held.Rollout.Release, "local", "--reason", "checked the canary")
	f.Converge(ctx, st, "v2 approved", approval, "v2")
	st.AssertNoFailedRequests(t)
	assertDecisionJournaled(ctx, t, f, "gate", "hold")
}

// assertDecisionJournaled checks that the journal holds a decision of the
// entry point with the result, with its input digest and policy source.
func assertDecisionJournaled(ctx context.Context, t *testing.T, f *e2etest.Fixture, entry, result string) {
	t.Helper()
	entries, err := f.API.Journal(ctx, 0, 1000)
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
	f, st, _ := e2etest.ServingV1UnderLoad(t, ctx)
	hold := func(on bool) {
		t.Helper()
		text := fmt.Sprintf("package %s\n\nservices: web: hold: %t\n", f.Repo.Pkg(), on)
		if err := os.WriteFile(filepath.Join(f.Repo.Dir, "hold.cue"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hold(true)
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2, on hold")
	f.Judged(ctx, t, c2)
	var pl api.PlacementStatus
	e2etest.WaitFor(ctx, t, "the hold to pause v2", func() bool {
		s, err := f.API.Status(ctx)
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
		if s.Artifact == f.Artifacts["v2"] {
			t.Fatalf("v2's infra-set was made while on hold: %+v", s)
		}
	}
	time.Sleep(time.Second)
	hold(false)
	c3, err := f.Repo.Commit(ctx, "Release the hold")
	if err != nil {
		t.Fatal(err)
	}
	f.Converge(ctx, st, "v2 once the hold is released", c3, "v2")
	st.AssertNoFailedRequests(t)
}
