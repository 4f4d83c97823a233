package reconcile

import (
	"context"
	"encoding/json"

	"github.com/durable-delivery/durable/reconcile/store"
)

// Built-in policies: the rules the reconciler applies when no Rego policy
// speaks, each cited by the decisions it makes.
const (
	policyMakeBeforeBreak = "builtin/make-before-break"
	policyRollback        = "builtin/warm-rollback"
	policyKeepWarm        = "builtin/keep-warm"
	policyOrphan          = "builtin/orphan"
	policyDrift           = "builtin/drift"
)

// journal appends an entry, logging (not failing) when the journal cannot be
// written: the caller's action is what matters to the caller.
func (r *Reconciler) journal(ctx context.Context, e store.Entry) store.Entry {
	out, err := r.store.Append(ctx, e)
	if err != nil {
		r.log.Error("append to journal", "kind", e.Kind, "message", e.Message, "err", err)
		return e
	}
	return out
}

// act journals a decision and an intent, runs the action, and journals its
// outcome. The intent is durable before the action starts, so a crash in the
// middle leaves a visible trace that the next pass completes.
func (r *Reconciler) act(ctx context.Context, base store.Entry, action, policy, why string, detail any, do func() error) error {

	decision := base
	decision.Kind, decision.Policy, decision.Result, decision.Message = store.EntryDecision, policy, "allow", why
	decision = r.journal(ctx, decision)

	intent := base
	intent.Kind, intent.Action, intent.Decision, intent.Message = store.EntryIntent, action, decision.Seq, why
	if detail != nil {
		intent.Detail, _ = json.Marshal(detail)
	}
	intent, err := r.store.Append(ctx, intent)
	if err != nil {
		// Without a durable intent the action must not run.
		return err
	}

	err = do()
	outcome := base
	outcome.Kind, outcome.Action, outcome.Intent = store.EntryOutcome, action, intent.Seq
	outcome.Message = action + " done"
	if err != nil {
		outcome.Message, outcome.Error = action+" failed", err.Error()
	}
	r.journal(ctx, outcome)
	return err
}

// entry is the journal entry header for an action on set, which runs release
// on the placement.
func (p placement) entry(set, release string) store.Entry {
	return store.Entry{Service: p.service.Name, Stage: p.stage, Target: p.target.Name, Set: set,
		Release: release, Rollout: p.rolloutID(release)}
}
