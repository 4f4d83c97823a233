package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/secrets/redact"
)

// ReadStatus builds the status from the journal alone.
func ReadStatus(ctx context.Context, st journal.Store) (api.Status, error) {
	s := api.Status{Time: time.Now().UTC()}
	revs, err := appliedRevisions(ctx, st)
	if err != nil {
		return s, err
	}
	desired, approvals, err := applied(&s, revs)
	if err != nil {
		return s, err
	}
	// A journal that cannot be read shows no bakes and no last entry, as
	// before the first.
	bakes, last, err := readJournaledBakes(ctx, st, entryPage)
	if err != nil {
		bakes, last = map[string]stageBake{}, 0
	}
	s.LastSeq = last
	if desired == nil {
		s.Ready = api.Condition{Reason: api.ReasonNoRevision, Message: "no revision of the repository has been accepted yet"}
		return s, nil
	}
	sr := statusReader{st: st, desired: desired, approvals: approvals, bakes: bakes, now: s.Time}
	if sr.sets, err = st.InfraSets(ctx); err != nil {
		return s, err
	}
	if sr.rollouts, err = st.Rollouts(ctx); err != nil {
		return s, err
	}
	converged, failed := true, ""
	var held []string
	for _, name := range sortedKeys(desired.Services) {
		ss, ok, why := sr.service(ctx, name)
		converged = converged && ok
		if why != "" {
			failed = why
		}
		if !ok && desired.Services[name].Hold {
			held = append(held, name)
		}
		s.Services = append(s.Services, ss)
	}
	s.Ready = readiness(s, converged, failed, held)
	return s, nil
}

// applied sets the status's head and applied revisions from the journal's
// revisions, newest first, and returns the applied one's desired state
// (nil when none was accepted) and approvals.
func applied(s *api.Status, revs []journal.Revision) (*schema.DesiredState, []policy.Approval, error) {
	approvals := []policy.Approval{}
	for i, rev := range revs {
		rs := &api.RevisionStatus{Commit: rev.Commit, Message: rev.Message, SeenAt: rev.SeenAt, Verdict: rev.Verdict, Errors: rev.Errors}
		if i == 0 {
			s.Head = rs
		}
		if rev.Verdict != api.RevisionAccepted {
			continue
		}
		s.Applied = rs
		desired := &schema.DesiredState{}
		if err := json.Unmarshal(rev.DesiredState, desired); err != nil {
			return nil, approvals, fmt.Errorf("revision %s: %w", short(rev.Commit), err)
		}
		if len(rev.Approvals) > 0 {
			if err := json.Unmarshal(rev.Approvals, &approvals); err != nil {
				return nil, approvals, fmt.Errorf("revision %s: approvals: %w", short(rev.Commit), err)
			}
		}
		return desired, approvals, nil
	}
	return nil, approvals, nil
}

// statusReader is what the status of the services is read from: the
// applied desired state and the journal's records.
type statusReader struct {
	st        journal.Store
	desired   *schema.DesiredState
	approvals []policy.Approval
	bakes     map[string]stageBake
	sets      []journal.InfraSet
	rollouts  []journal.Rollout
	now       time.Time
}

// service is one service's status: each placement with its sets and newest
// rollout, and its pipeline. converged is false when a placement serves
// nothing or another release than the desired one; failed is the message of
// a failed rollout of the desired release.
func (sr statusReader) service(ctx context.Context, name string) (ss api.ServiceStatus, converged bool, failed string) {
	svc := sr.desired.Services[name]
	ss = api.ServiceStatus{Name: name, Release: svc.ReleaseID(), Artifact: svc.Artifact, Hold: svc.Hold, Strategy: strategyView(svc.Strategy)}
	converged = true
	for _, stage := range sr.desired.Pipeline.Stages {
		for _, target := range stage.Targets {
			ps, ok := sr.placement(ctx, name, ss.Release, stage.Name, target)
			converged = converged && ok
			if ps.Rollout != nil && ps.Rollout.Phase == api.RolloutFailed && ps.Rollout.Release == ss.Release {
				failed = ps.Rollout.Message
			}
			ss.Placements = append(ss.Placements, ps)
		}
	}
	v := journalView{sets: sr.sets, rollouts: sr.rollouts}
	ss.Stages = stageViews(sr.desired, name, v)
	addBakeViews(ss.Stages, pipelineView{ds: sr.desired, v: v, service: name}, sr.bakes, sr.now)
	addGateViews(ss.Stages, sr.desired, sr.approvals)
	return ss, converged, failed
}

// placement is the status of service on target of stage: its sets and its
// newest rollout. converged is false when it serves nothing, or a set of
// another release than release.
func (sr statusReader) placement(ctx context.Context, service, release, stage, target string) (api.PlacementStatus, bool) {
	ps := api.PlacementStatus{Stage: stage, Target: target}
	converged := true
	for _, set := range sr.sets {
		if set.Service != service || set.Target != target || set.Stage != stage || set.State == api.SetRemoved {
			continue
		}
		artifact := ""
		if rel, err := sr.st.Release(ctx, set.Release); err == nil {
			artifact = rel.Artifact
		}
		ps.Sets = append(ps.Sets, api.SetStatus{ID: set.ID, Release: set.Release, Artifact: artifact, State: set.State, Reason: set.Reason})
		if set.State == api.SetServing {
			ps.Serving = set.ID
			converged = converged && set.Release == release
		}
	}
	for i := range sr.rollouts {
		ro := sr.rollouts[i]
		if ro.Service == service && ro.Stage == stage && ro.Target == target {
			ps.Rollout = &ro // rollouts are ordered by start: the last is the newest
		}
	}
	return ps, converged && ps.Serving != ""
}

// readiness is the status's Ready condition: what is true of the whole, why,
// and since when.
func readiness(s api.Status, converged bool, failed string, held []string) api.Condition {
	switch {
	case s.Head != nil && s.Head.Verdict != api.RevisionAccepted:
		return api.Condition{Reason: api.ReasonRevisionRejected, Since: s.Head.SeenAt,
			Message: fmt.Sprintf("head %s was rejected (%d error(s)); still running %s", short(s.Head.Commit), len(s.Head.Errors), short(s.Applied.Commit))}
	case failed != "":
		return api.Condition{Reason: api.ReasonRolloutFailed, Message: failed}
	case converged:
		return api.Condition{Status: true, Reason: api.ReasonConverged, Since: s.Applied.SeenAt,
			Message: fmt.Sprintf("every service serves revision %s", short(s.Applied.Commit))}
	case len(held) > 0:
		return api.Condition{Reason: api.ReasonHeld, Since: s.Applied.SeenAt,
			Message: fmt.Sprintf("revision %s waits: hold is true for %s; a commit setting it to false lets the rollout go on", short(s.Applied.Commit), strings.Join(held, ", "))}
	}
	return api.Condition{Reason: api.ReasonProgressing, Since: s.Applied.SeenAt,
		Message: fmt.Sprintf("rolling out revision %s", short(s.Applied.Commit))}
}

// Status builds the status from the journal and adds what only a running
// reconciler knows: the source's health, the dependencies and placements
// failing on its last try, and the splits and counters it last observed.
// It never calls a target.
func (r *Reconciler) Status(ctx context.Context) (api.Status, error) {
	s, err := ReadStatus(ctx, r.store)
	if err != nil {
		return s, err
	}
	s.Trust = "off: no trust file; artifacts and commits are NOT verified"
	if t, _ := r.trust(); t != nil {
		s.Trust = fmt.Sprintf("artifacts verified against %s (%d rule(s)); commits: %s", t.File, len(t.Artifacts), t.Commits.Mode)
		if t.ArtifactsUnverified {
			s.Trust = fmt.Sprintf("artifacts NOT verified (%s says artifacts: unverified); commits: %s", t.File, t.Commits.Mode)
		}
	}
	s.Warnings = r.warnings()
	r.mu.Lock()
	if r.sourceErr != nil {
		s.Source = api.SourceStatus{Error: r.sourceErr.Error(), Since: r.sourceErrAt}
	}
	r.mu.Unlock()
	if s.Source.Error != "" && s.Ready.Status {
		s.Ready = api.Condition{Reason: api.ReasonSourceUnreachable, Since: s.Source.Since,
			Message: "the repository cannot be fetched; still running " + short(s.Applied.Commit) + ": " + s.Source.Error}
	}
	r.observed.addTo(&s)
	r.failing.addTo(&s)
	r.bakesServed(ctx, &s)
	if red, ok := redact.Value(r.redactor, s); ok {
		return red, nil
	}
	return api.Status{}, fmt.Errorf("status could not be checked for secret values, and is not shown")
}
