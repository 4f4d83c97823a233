package reconcile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// policyStageGate is cited when a stage's gate holds a release before it
// enters the stage, for want of approvals.
const policyStageGate = api.PolicyStageGate

// approvers lists who approved release for stage, as the gate counts them:
// distinct approvers (`by`, case-insensitive) or, with signed, only
// approvals whose commit signature was verified, distinct by signing key.
func approvers(g schema.StageGate, stage, release string, all []policy.Approval) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, a := range approvalsFor(all, release) {
		if a.Stage != stage {
			continue
		}
		id, name := strings.ToLower(strings.TrimSpace(a.By)), strings.TrimSpace(a.By)
		if g.Signed {
			if !a.Verified || a.Signer == nil || a.Signer.Key == "" {
				continue
			}
			id, name = a.Signer.Key, a.Signer.Identity
			if name == "" {
				name = a.Signer.Key
			}
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// approveCommand is the command that approves release for stage (it takes
// at least 12 digits of the release id).
func approveCommand(stage, release string) string {
	return fmt.Sprintf("durable approve %s --stage %s", release[:min(12, len(release))], stage)
}

// stageGateReason says why the stage's gate holds release, or "" when it
// has its approvals (or the stage has no gate).
func stageGateReason(st schema.Stage, release string, all []policy.Approval) string {
	g := st.Gate
	if g == nil || g.Approvals <= 0 {
		return ""
	}
	got := approvers(*g, st.Name, release, all)
	if len(got) >= g.Approvals {
		return ""
	}
	kind := "distinct approvers"
	if g.Signed {
		kind = "in verified signed commits, one per signing key"
	}
	who := ""
	if len(got) > 0 {
		who = " (" + strings.Join(got, ", ") + ")"
	}
	return fmt.Sprintf("stage %s's gate: release %s has %d of %d approval(s) (%s)%s; approve it with: %s",
		st.Name, short(release), len(got), g.Approvals, kind, who, approveCommand(st.Name, release))
}

// withStageGate adds the stage's gate to the gate decision on a release
// entering the stage: without its approvals the release is held, journaled
// like a policy's hold. A policy deny still wins, and a rollback is never
// held.
func withStageGate(d policy.Decision, st schema.Stage, ro *journal.Rollout, step policy.GateStep, all []policy.Approval) policy.Decision {
	if step.Kind != policy.StepEnter || ro.Rollback || d.Result == policy.Deny {
		return d
	}
	reason := stageGateReason(st, ro.Release, all)
	if reason == "" {
		return d
	}
	if d.Result == policy.Hold {
		d.Reasons = append(d.Reasons, reason)
		d.Policy += " + " + policyStageGate
		return d
	}
	return policy.Decision{Entry: policy.Gate, Result: policy.Hold, Policy: policyStageGate, InputDigest: d.InputDigest,
		Reasons: []string{reason}, Duration: d.Duration}
}

// stageGate is withStageGate for the stage of a placement in the desired
// state.
func (r *Reconciler) stageGate(d policy.Decision, p placement, ro *journal.Rollout, step policy.GateStep, all []policy.Approval) policy.Decision {
	if st, ok := r.desiredStage(p.stage); ok {
		return withStageGate(d, st, ro, step, all)
	}
	return d
}

// addGateViews shows, on each stage with a gate, who approved the release
// waiting to enter it (in flight there, else the nearest queued), else the
// release it serves.
func addGateViews(views []api.StageView, ds *schema.DesiredState, all []policy.Approval) {
	for i, st := range ds.Pipeline.Stages {
		if st.Gate == nil || i >= len(views) {
			continue
		}
		sv := views[i]
		gv := &api.GateView{Approvals: st.Gate.Approvals, Signed: st.Gate.Signed, Approvers: []string{}}
		views[i].Gate = gv
		waiting := true
		switch {
		case len(sv.InFlight) > 0:
			gv.Release = sv.InFlight[sortedKeys(sv.InFlight)[0]]
		case len(sv.Queue) > 0:
			gv.Release = sv.Queue[0]
		case len(sv.Serving) > 0:
			gv.Release, waiting = sv.Serving[sortedKeys(sv.Serving)[0]], false
		default:
			continue
		}
		gv.Approvers = approvers(*st.Gate, st.Name, gv.Release, all)
		if waiting && len(gv.Approvers) < st.Gate.Approvals {
			gv.Approve = approveCommand(st.Name, gv.Release)
		}
	}
}
