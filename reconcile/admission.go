package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	dockersettings "github.com/durable-delivery/durable/adapters/docker/settings"
	execsettings "github.com/durable-delivery/durable/adapters/exec/settings"
	haproxysettings "github.com/durable-delivery/durable/adapters/haproxy/settings"
	"github.com/durable-delivery/durable/adapters/hostconfig"
	routersettings "github.com/durable-delivery/durable/adapters/router/settings"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/approvals"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/source"
)

// commitInfo is what admission needs of a fetched commit.
type commitInfo struct {
	commit    policy.Commit
	artifacts map[string]policy.Artifact
}

// AdmissionQuestion is what durable.admission is asked about a revision.
type AdmissionQuestion struct {
	// Old is the applied desired state (nil before the first), New the
	// revision's.
	Old, New  *schema.DesiredState
	Commit    policy.Commit
	Artifacts map[string]policy.Artifact
	Approvals []policy.Approval
	// Warm are the releases that have a warm infra-set somewhere: a
	// change back to one is a rollback.
	Warm map[string]bool
	Now  policy.Now
	// Prepare prepares a desired state for the policy's input; nil
	// prepares each one asked. The reconciler's keeps the states it
	// prepared (preparedStates).
	Prepare func(*schema.DesiredState) (*policy.Prepared[schema.DesiredState], error)
}

// Admit classifies a revision's change and asks engine's durable.admission
// about it. The reconciler admits through it and durable plan predicts
// through it, so that the two cannot disagree on a verdict.
func Admit(ctx context.Context, engine *policy.Engine, q AdmissionQuestion) (schema.Change, policy.Decision) {
	change := schema.Diff(q.Old, q.New)
	markRollbacks(&change, q.Warm)
	in := policy.AdmissionInput{APIVersion: policy.APIVersion, Entry: string(policy.Admission), Now: q.Now,
		Commit: q.Commit, Change: change, Approvals: q.Approvals, Artifacts: q.Artifacts}
	if engine.Defines(policy.Admission) { // else nothing reads the states
		prepare := q.Prepare
		if prepare == nil {
			prepare = prepareState
		}
		var err error
		if in.Old, err = prepare(q.Old); err == nil {
			in.New, err = prepare(q.New)
		}
		if err != nil {
			return change, policy.Decision{Entry: policy.Admission, Result: policy.Deny, Reasons: []string{"encode input: " + err.Error()}}
		}
	}
	return change, engine.Decide(ctx, policy.Admission, in)
}

// prepareState prepares ds (nil, before the first revision: null).
func prepareState(ds *schema.DesiredState) (*policy.Prepared[schema.DesiredState], error) {
	if ds == nil {
		return nil, nil
	}
	return policy.Prepare(ds)
}

// preparedStates keeps the last desired states admission was asked about,
// prepared: a revision's state is the next revision's old one, and the
// journal's copy of it (accept) is the same text. Only states of up to
// maxKeptState bytes of JSON are kept: at 10,000 services a state's value
// is hundreds of MB of terms, for a decision asked once per revision.
type preparedStates struct {
	mu   sync.Mutex
	kept [2]*policy.Prepared[schema.DesiredState]
}

const maxKeptState = 1 << 20

// prepare is ds prepared, kept or made now. A state is never changed once
// the reconciler holds it (a change makes a new one), so the pointer
// names its content.
func (c *preparedStates) prepare(ds *schema.DesiredState) (*policy.Prepared[schema.DesiredState], error) {
	if p := c.find(ds); p != nil || ds == nil {
		return p, nil
	}
	p, err := policy.Prepare(ds)
	if err != nil {
		return nil, err
	}
	if p.Size() <= maxKeptState {
		c.mu.Lock()
		c.kept[0], c.kept[1] = p, c.kept[0]
		c.mu.Unlock()
	}
	return p, nil
}

// find is ds as kept prepared, or nil.
func (c *preparedStates) find(ds *schema.DesiredState) *policy.Prepared[schema.DesiredState] {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.kept {
		if p != nil && ds != nil && p.Of == ds {
			return p
		}
	}
	return nil
}

// SnapshotCommit is a fetched commit as admission sees it; signer is who
// signed it, when commit signatures are verified.
func SnapshotCommit(snap source.Snapshot, signer *policy.Signer) policy.Commit {
	return policy.Commit{ID: snap.Commit, Message: snap.Message, Author: person(snap.Author), Time: snap.Time,
		Signer: signer, Trailers: approvals.Trailers(snap.Message)}
}

// admit asks durable.admission about a revision.
func (r *Reconciler) admit(ctx context.Context, pol policies, old, ds *schema.DesiredState, snap commitInfo) (policy.Decision, error) {
	sets, err := r.store.InfraSets(ctx)
	if err != nil {
		return policy.Decision{}, err
	}
	change, d := Admit(ctx, pol.engine, AdmissionQuestion{Old: old, New: ds, Commit: snap.commit, Artifacts: snap.artifacts,
		Approvals: pol.approvals, Warm: warmReleases(sets), Now: r.now(), Prepare: r.states.prepare})
	r.work.noteDiff(old, ds, change)
	return d, nil
}

// warmReleases are the releases with a warm infra-set among sets.
func warmReleases(sets []journal.InfraSet) map[string]bool {
	warm := map[string]bool{}
	for _, s := range sets {
		if s.State == api.SetWarm {
			warm[s.Release] = true
		}
	}
	return warm
}

// markRollbacks flags each changed service whose new release is still warm;
// the change is a rollback when every changed service's is.
func markRollbacks(c *schema.Change, warm map[string]bool) {
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
}

// CheckHostNames refuses a desired state whose targets name what the
// operator's host file (durable run --host-config) does not: every exec
// plug-in, Docker engine, HAProxy socket and router admin a target names
// must be one of its names, before anything of the revision runs. A nil
// host file names nothing. Each problem is one error naming the field and
// the fix. A target on another host (host:) names what that host's agent's
// host file holds: the agent refuses a name it does not have when called.
func CheckHostNames(ds *schema.DesiredState, host *hostconfig.Config) error {
	var errs schema.Errors
	for _, name := range sortedKeys(ds.Targets) {
		t := ds.Targets[name]
		if t.Host != "" {
			continue
		}
		for _, a := range []struct {
			role    string
			adapter schema.Adapter
		}{{"runtime", t.Runtime}, {"traffic", t.Traffic}} {
			field, err := hostName(a.adapter, host)
			if err != nil {
				path := fmt.Sprintf("targets.%s.%s.%s", name, a.role, field)
				errs = append(errs, schema.Error{Path: path, Message: path + ": " + err.Error()})
			}
		}
	}
	if errs == nil {
		return nil
	}
	return errs
}

// hostName looks up the host file's name an adapter's settings give, and
// says which field holds it.
func hostName(a schema.Adapter, host *hostconfig.Config) (string, error) {
	switch a.Kind {
	case "exec":
		var s execsettings.Exec
		if err := json.Unmarshal(a.Config, &s); err != nil {
			return "plugin", err
		}
		_, err := host.Plugin(s.Plugin)
		return "plugin", err
	case "docker":
		var s dockersettings.Docker
		if err := json.Unmarshal(a.Config, &s); err != nil || s.Host == "" {
			return "host", err
		}
		_, err := host.DockerHost(s.Host)
		return "host", err
	case "haproxy":
		var s haproxysettings.HAProxy
		if err := json.Unmarshal(a.Config, &s); err != nil {
			return "socket", err
		}
		_, err := host.HAProxySocket(s.Socket)
		return "socket", err
	case "router":
		var s routersettings.Router
		if err := json.Unmarshal(a.Config, &s); err != nil {
			return "admin", err
		}
		_, err := host.Router(s.Admin)
		return "admin", err
	}
	return "", nil
}
