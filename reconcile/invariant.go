package reconcile

import (
	"context"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
)

// invariant asks durable.invariant about an action with the fleet before
// and after it. With no invariant policy the built-in rules allow, and the
// fleet is not built: nothing would read it (Decide allows an entry point
// no source defines whatever its input, and an undefined decision's input
// digest is not journaled), and at 10,000 services building it for every
// action is most of a warm-up.
func (r *Reconciler) invariant(ctx context.Context, base journal.Entry, act action) (policy.Decision, error) {
	r.mu.Lock()
	ds, pol := r.desired, r.policies
	r.mu.Unlock()
	if ds == nil || !pol.engine.Defines(policy.Invariant) {
		return policy.Decision{Entry: policy.Invariant, Result: policy.Allow}, nil
	}
	a := policy.Action{Kind: act.kind, Service: base.Service, Stage: base.Stage, Target: base.Target, Set: base.Set,
		Release: base.Release, Rollback: act.rule == policyRollback || act.rule == policyAnalysis}
	if split, ok := act.detail.(adapters.Split); ok {
		a.Weights = map[string]int{}
		for _, b := range split.Backends {
			a.Weights[b.Set] = b.Weight
		}
	}
	before, err := r.fleet(ctx, ds)
	if err != nil {
		return policy.Decision{}, err
	}
	next, err := after(before, a, ds.Targets[base.Target].Zone)
	if err != nil {
		return policy.Decision{}, err
	}
	in := policy.InvariantInput{APIVersion: policy.APIVersion, Entry: string(policy.Invariant), Now: r.now(),
		Action: a, Before: before, After: next}
	return pol.engine.Decide(ctx, policy.Invariant, in), nil
}
