package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
)

// Built-in policies: the rules the reconciler applies when no Rego policy
// speaks, each cited by the decisions it makes.
const (
	policyMakeBeforeBreak = "builtin/make-before-break"
	policyRollback        = "builtin/warm-rollback"
	policyKeepWarm        = "builtin/keep-warm"
	policyOrphan          = "builtin/orphan"
	policyDrift           = api.PolicyDrift
	policyRecordedInput   = "builtin/recorded-input"
)

// journal appends an entry, logging (not failing) when the journal cannot be
// written: the caller's action is what matters to the caller.
func (r *Reconciler) journal(ctx context.Context, e journal.Entry) journal.Entry {
	out, err := r.store.Append(ctx, e)
	if err != nil {
		r.log.Error("append to journal", "kind", e.Kind, "message", e.Message, "err", err)
		return e
	}
	return out
}

// action is one change to a target, as act journals it: what is done, the
// rule (a policy or a built-in one) that decided it, why, and the detail
// its intent records (a traffic split, a scale).
type action struct {
	kind   api.Action
	rule   string
	why    string
	detail any
}

// act journals a decision and an intent, runs the action, and journals its
// outcome. The intent is durable before the action starts, so a crash in the
// middle leaves a visible trace that the next pass completes.
// The invariant policy is asked first, with the fleet as the action would
// leave it; if it does not allow, the action is not taken and errDenied is
// returned (the decision journaled once until it changes).
func (r *Reconciler) act(ctx context.Context, base journal.Entry, a action, do func() error) error {
	r.acts.Add(1)
	d, err := r.invariant(ctx, base, a)
	if err != nil {
		return fmt.Errorf("ask invariant policy: %w", err)
	}
	decision := base
	decision.Kind, decision.Policy, decision.Result, decision.Message = api.EntryDecision, a.rule, policy.Allow, a.why
	if d.Defined() {
		decision = decisionEntry(base, d, a.why)
		decision.Policy = a.rule + " + " + d.Policy
	}
	if d.Result != policy.Allow {
		decision.Message = fmt.Sprintf("invariant denied %s: %s; not done, asked again next pass", a.kind, reasonsLine(d))
		e, journaled := r.verdictOnce(ctx, "invariant/"+string(a.kind)+"/"+base.Service+"/"+base.Target+"/"+base.Set, decision)
		if journaled {
			r.log.Warn("action denied by invariant policy", "action", a.kind, "set", base.Set, "reasons", reasonsLine(d))
			r.noteVerdict(ctx, base.Rollout, d, e)
		}
		return fmt.Errorf("%s %s: %w", a.kind, base.Set, errDenied)
	}
	decision = r.journal(ctx, decision)

	intent := base
	intent.Kind, intent.Action, intent.Decision, intent.Message = api.EntryIntent, a.kind, decision.Seq, a.why
	if a.detail != nil {
		intent.Detail, _ = json.Marshal(a.detail)
	}
	intent, err = r.store.Append(ctx, intent)
	if err != nil {
		// Without a durable intent the action must not run.
		return err
	}

	err = do()
	if split, ok := a.detail.(adapters.Split); ok && a.kind == api.ActionSetSplit && err == nil {
		r.observed.noteSplit(base.Target, split)
	}
	outcome := base
	outcome.Kind, outcome.Action, outcome.Intent = api.EntryOutcome, a.kind, intent.Seq
	outcome.Message = string(a.kind) + " done"
	switch {
	case errors.Is(err, errStillEnsuring):
		// Asked: the runtime goes on in the background, and the passes
		// after see the set become healthy, or not.
		outcome.Message, err = fmt.Sprintf("%s under way: %v", a.kind, err), nil
	case err != nil:
		outcome.Message, outcome.Error = string(a.kind)+" failed", err.Error()
	}
	// The outcome is written even when the reconciler is stopping: the
	// action ran, and its intent must not stay unanswered.
	r.journal(context.WithoutCancel(ctx), outcome)
	return err
}

// noteVerdict records a decision on the rollout it concerns, if any.
func (r *Reconciler) noteVerdict(ctx context.Context, rollout string, d policy.Decision, e journal.Entry) {
	if rollout == "" {
		return
	}
	ro, err := r.store.Rollout(ctx, rollout)
	if err != nil || ro.Done() {
		return
	}
	ro.Verdict = &journal.Verdict{Entry: string(d.Entry), Result: d.Result, Reasons: d.Reasons, Policy: d.Policy, At: e.Time, Seq: e.Seq}
	ro.Message, ro.UpdatedAt = "held by the invariant policy: "+reasonsLine(d), time.Now().UTC()
	if err := r.store.PutRollout(ctx, ro); err != nil {
		r.log.Error("journal rollout", "err", err)
	}
}
