package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
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
