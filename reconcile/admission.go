package reconcile

import (
	"context"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// commitInfo is what admission needs of a fetched commit.
type commitInfo struct {
	commit    policy.Commit
	artifacts map[string]policy.Artifact
}

// admit asks durable.admission about a revision.
func (r *Reconciler) admit(ctx context.Context, pol policies, old, ds *schema.DesiredState, snap commitInfo) (policy.Decision, error) {
	change := schema.Diff(old, ds)
	if err := r.markRollbacks(ctx, &change); err != nil {
		return policy.Decision{}, err
	}
	in := policy.AdmissionInput{APIVersion: policy.APIVersion, Entry: string(policy.Admission), Now: r.now(),
		Commit: snap.commit, Change: change, Old: old, New: ds, Approvals: pol.approvals, Artifacts: snap.artifacts}
	return pol.engine.Decide(ctx, policy.Admission, in), nil
}

// markRollbacks flags each changed service whose new release is still warm;
// the change is a rollback when every changed service's is.
func (r *Reconciler) markRollbacks(ctx context.Context, c *schema.Change) error {
	sets, err := r.store.InfraSets(ctx)
	if err != nil {
		return err
	}
	warm := map[string]bool{}
	for _, s := range sets {
		if s.State == api.SetWarm {
			warm[s.Release] = true
		}
	}
	any, all := false, true
	for name, sc := range c.Services {
		if sc.Change == schema.Changed && warm[sc.To] {
			sc.Rollback, any = true, true
			c.Services[name] = sc
		} else {
			all = false
		}
	}
	c.Rollback = any && all && len(c.Targets) == 0 && len(c.Pipeline) == 0
	return nil
}
