package reconcile

import (
	"strings"
	"testing"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

func TestStageGateCountsDistinctApprovers(t *testing.T) {
	release := strings.Repeat("ab", 32)
	approval := func(stage, by string, key string) policy.Approval {
		a := policy.Approval{Release: release, Stage: stage, By: by, File: "approvals/" + by + ".json"}
		if key != "" {
			a.Signer, a.Verified = &policy.Signer{Identity: by, Method: "ssh", Key: key}, true
		}
		return a
	}
	allow := policy.Decision{Entry: policy.Gate, Result: policy.Allow, Policy: "repository@c1", InputDigest: "sha256:x"}
	enter := policy.GateStep{Kind: policy.StepEnter, Count: 1}
	for _, tc := range []struct {
		name      string
		gate      *schema.StageGate
		approvals []policy.Approval
		d         policy.Decision
		step      policy.GateStep
		rollback  bool
		// want is the result; reason, a part of the stage gate's reason
		// ("" when it does not speak); policy, the decision's policy.
		want, reason, policy string
	}{
		{name: "no gate", approvals: nil, d: allow, want: policy.Allow, policy: "repository@c1"},
		{name: "no approval: held, with the command", gate: &schema.StageGate{Approvals: 1}, d: allow,
			want: policy.Hold, reason: "has 0 of 1 approval(s) (distinct approvers); approve it with: durable approve abababababab --stage prod", policy: policyStageGate},
		{name: "no gate policy: held all the same", gate: &schema.StageGate{Approvals: 1}, d: policy.Decision{Entry: policy.Gate},
			want: policy.Hold, reason: "0 of 1", policy: policyStageGate},
		{name: "approved", gate: &schema.StageGate{Approvals: 1}, approvals: []policy.Approval{approval("prod", "alice@example.com", "")}, d: allow,
			want: policy.Allow, policy: "repository@c1"},
		{name: "an approval for another stage does not count", gate: &schema.StageGate{Approvals: 1},
			approvals: []policy.Approval{approval("staging", "alice@example.com", "")}, d: allow, want: policy.Hold, reason: "0 of 1", policy: policyStageGate},
		{name: "the same approver twice is one", gate: &schema.StageGate{Approvals: 2},
			approvals: []policy.Approval{approval("prod", "alice@example.com", ""), approval("prod", "Alice@Example.com ", "")}, d: allow,
			want: policy.Hold, reason: "1 of 2 approval(s) (distinct approvers) (alice@example.com)", policy: policyStageGate},
		{name: "two approvers", gate: &schema.StageGate{Approvals: 2},
			approvals: []policy.Approval{approval("prod", "alice@example.com", ""), approval("prod", "bob@example.com", "")}, d: allow,
			want: policy.Allow, policy: "repository@c1"},
		{name: "signed: an unverified approval does not count", gate: &schema.StageGate{Approvals: 1, Signed: true},
			approvals: []policy.Approval{approval("prod", "alice@example.com", "")}, d: allow,
			want: policy.Hold, reason: "0 of 1 approval(s) (in verified signed commits, one per signing key)", policy: policyStageGate},
		{name: "signed: one key is one approval, whatever the by", gate: &schema.StageGate{Approvals: 2, Signed: true},
			approvals: []policy.Approval{approval("prod", "alice@example.com", "SHA256:a"), approval("prod", "bob@example.com", "SHA256:a")}, d: allow,
			want: policy.Hold, reason: "1 of 2", policy: policyStageGate},
		{name: "signed: two keys", gate: &schema.StageGate{Approvals: 2, Signed: true},
			approvals: []policy.Approval{approval("prod", "alice@example.com", "SHA256:a"), approval("prod", "bob@example.com", "SHA256:b")}, d: allow,
			want: policy.Allow, policy: "repository@c1"},
		{name: "a policy deny wins", gate: &schema.StageGate{Approvals: 1},
			d: policy.Decision{Entry: policy.Gate, Result: policy.Deny, Reasons: []string{"no"}, Policy: "repository@c1"}, want: policy.Deny, policy: "repository@c1"},
		{name: "a policy hold and the gate: both reasons", gate: &schema.StageGate{Approvals: 1},
			d:    policy.Decision{Entry: policy.Gate, Result: policy.Hold, Reasons: []string{"freeze"}, Policy: "repository@c1"},
			want: policy.Hold, reason: "0 of 1", policy: "repository@c1 + " + policyStageGate},
		{name: "a rollback is never held", gate: &schema.StageGate{Approvals: 1}, d: allow, rollback: true, want: policy.Allow, policy: "repository@c1"},
		{name: "only on entering the stage", gate: &schema.StageGate{Approvals: 1}, d: allow,
			step: policy.GateStep{Kind: policy.StepPromote, Count: 1, Weight: 100}, want: policy.Allow, policy: "repository@c1"},
	} {
		step := tc.step
		if step.Kind == "" {
			step = enter
		}
		st := schema.Stage{Name: "prod", Targets: []string{"p1"}, Gate: tc.gate}
		ro := &journal.Rollout{Release: release, Rollback: tc.rollback}
		got := withStageGate(tc.d, st, ro, step, tc.approvals)
		reasons := strings.Join(got.Reasons, "\n")
		if got.Result != tc.want || got.Policy != tc.policy || (tc.reason != "" && !strings.Contains(reasons, tc.reason)) ||
			(tc.reason == "" && strings.Contains(reasons, "approve it with")) {
			t.Errorf("%s: got %s by %q: %q; want %s by %q with %q", tc.name, got.Result, got.Policy, reasons, tc.want, tc.policy, tc.reason)
		}
		if got.Result == policy.Hold && tc.d.Result == policy.Hold && !strings.Contains(reasons, "freeze") {
			t.Errorf("%s: the policy's own reason is lost: %q", tc.name, reasons)
		}
	}
}

func TestGateViewShowsTheReleaseWaiting(t *testing.T) {
	r1 := pipelineState("a").Services["web"].ReleaseID()
	r2 := pipelineState("b").Services["web"].ReleaseID()
	ds := pipelineState("b")
	ds.Pipeline.Stages[1].Gate = &schema.StageGate{Approvals: 2}
	views := []api.StageView{
		{Name: "staging", Serving: map[string]string{"s1": r2}, InFlight: map[string]string{}},
		{Name: "prod", Serving: map[string]string{"p1": r1, "p2": r1}, InFlight: map[string]string{"p1": r2}, Queue: []string{}},
	}
	approvals := []policy.Approval{{Release: r2, Stage: "prod", By: "alice@example.com"}, {Release: r1, Stage: "prod", By: "bob@example.com"}}
	addGateViews(views, ds, approvals)
	g := views[1].Gate
	if views[0].Gate != nil || g == nil || g.Release != r2 || g.Approvals != 2 || len(g.Approvers) != 1 || g.Approvers[0] != "alice@example.com" ||
		g.Approve != "durable approve "+r2[:12]+" --stage prod" {
		t.Fatalf("gate views: %+v, %+v", views[0].Gate, g)
	}
	// Nothing waiting: the release served, with no command to run.
	views[1].InFlight = map[string]string{}
	addGateViews(views, ds, approvals)
	if g := views[1].Gate; g.Release != r1 || len(g.Approvers) != 1 || g.Approve != "" {
		t.Fatalf("gate view with nothing waiting: %+v", g)
	}
}
