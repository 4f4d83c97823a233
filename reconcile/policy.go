package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// PolicyDir is the repository folder that holds the team's Rego policies.
const PolicyDir = "policy"

// policyHold is cited when a service's hold pauses its rollout.
const policyHold = "builtin/hold"

// errDenied marks an action a policy did not allow: the decision is in the
// journal, and the next pass asks again.
var errDenied = errors.New("denied by policy")

// policies are what one revision's decisions are made with.
type policies struct {
	engine    *policy.Engine
	approvals []policy.Approval
}

// compilePolicies compiles the repository's policies with the host's.
func (r *Reconciler) compilePolicies(ctx context.Context, repo map[string]string, commit string) (*policy.Engine, error) {
	src := policy.Source{Name: "repository", Revision: commit, Modules: repo}
	return policy.Compile(ctx, policy.Options{Timeout: r.cfg.PolicyTimeout}, src, r.cfg.HostPolicies)
}

func (r *Reconciler) now() policy.Now { return policy.NowIn(time.Now(), r.cfg.Location) }

// decisionEntry is the journal entry of a decision a policy answered.
func decisionEntry(base journal.Entry, d policy.Decision, message string) journal.Entry {
	base.Kind, base.Policy, base.Result, base.Message = api.EntryDecision, d.Policy, d.Result, message
	base.EntryPoint, base.InputDigest, base.Reasons, base.Took = string(d.Entry), d.InputDigest, d.Reasons, d.Duration
	return base
}

// verdictOnce journals a decision unless the same verdict on the same
// subject is the last one journaled: a hold re-asked every pass is one entry.
func (r *Reconciler) verdictOnce(ctx context.Context, key string, e journal.Entry) (journal.Entry, bool) {
	sig := e.Result + "\x00" + strings.Join(e.Reasons, "\x00")
	r.mu.Lock()
	same := r.lastVerdict[key] == sig
	r.lastVerdict[key] = sig
	r.mu.Unlock()
	if same {
		return e, false
	}
	return r.journal(ctx, e), true
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

func (r *Reconciler) healthSource(p placement) (adapters.HealthSource, bool) {
	tr, err := r.targets.traffic(p.target)
	if err != nil {
		return nil, false
	}
	hs, ok := tr.(adapters.HealthSource)
	return hs, ok
}

// invariant asks durable.invariant about an action with the fleet before
// and after it. With no invariant policy the built-in rules allow.
func (r *Reconciler) invariant(ctx context.Context, base journal.Entry, act action) (policy.Decision, error) {
	r.mu.Lock()
	ds, pol := r.desired, r.policies
	r.mu.Unlock()
	if ds == nil {
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
	in := policy.InvariantInput{APIVersion: policy.APIVersion, Entry: string(policy.Invariant), Now: r.now(),
		Action: a, Before: before, After: after(before, a, ds.Targets[base.Target].Zone)}
	return pol.engine.Decide(ctx, policy.Invariant, in), nil
}

// commitInfo is what admission needs of a fetched commit.
type commitInfo struct {
	commit    policy.Commit
	artifacts map[string]policy.Artifact
}

// restorePolicies rebuilds a journaled revision's policies after a restart.
func (r *Reconciler) restorePolicies(ctx context.Context, rev journal.Revision) (policies, error) {
	engine, err := r.compilePolicies(ctx, rev.Policies, rev.Commit)
	if err != nil {
		return policies{}, fmt.Errorf("revision %s: policies no longer compile:\n%w", short(rev.Commit), err)
	}
	pol := policies{engine: engine, approvals: []policy.Approval{}}
	if len(rev.Approvals) > 0 {
		if err := json.Unmarshal(rev.Approvals, &pol.approvals); err != nil {
			return policies{}, fmt.Errorf("revision %s: approvals: %w", short(rev.Commit), err)
		}
	}
	return pol, nil
}

// reasonsLine joins a decision's reasons for a message.
func reasonsLine(d policy.Decision) string {
	return strings.Join(d.Reasons, "; ")
}
