package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// ReadStatus builds the status from the journal alone.
func ReadStatus(ctx context.Context, st journal.Store) (api.Status, error) {
	s := api.Status{Time: time.Now().UTC()}
	revs, err := st.Revisions(ctx, 0)
	if err != nil {
		return s, err
	}
	var desired *schema.DesiredState
	approvals := []policy.Approval{}
	for i, rev := range revs {
		rs := &api.RevisionStatus{Commit: rev.Commit, Message: rev.Message, SeenAt: rev.SeenAt, Verdict: rev.Verdict, Errors: rev.Errors}
		if i == 0 {
			s.Head = rs
		}
		if rev.Verdict == api.RevisionAccepted {
			s.Applied = rs
			desired = &schema.DesiredState{}
			if err := json.Unmarshal(rev.DesiredState, desired); err != nil {
				return s, fmt.Errorf("revision %s: %w", short(rev.Commit), err)
			}
			if len(rev.Approvals) > 0 {
				if err := json.Unmarshal(rev.Approvals, &approvals); err != nil {
					return s, fmt.Errorf("revision %s: approvals: %w", short(rev.Commit), err)
				}
			}
			break
		}
	}
	entries, err := st.Entries(ctx, 0, 0)
	if err == nil && len(entries) > 0 {
		s.LastSeq = entries[len(entries)-1].Seq
	}
	if desired == nil {
		s.Ready = api.Condition{Reason: api.ReasonNoRevision, Message: "no revision of the repository has been accepted yet"}
		return s, nil
	}
	sets, err := st.InfraSets(ctx)
	if err != nil {
		return s, err
	}
	rollouts, err := st.Rollouts(ctx)
	if err != nil {
		return s, err
	}
	converged, failed := true, ""
	for _, name := range sortedKeys(desired.Services) {
		svc := desired.Services[name]
		ss := api.ServiceStatus{Name: name, Release: svc.ReleaseID(), Artifact: svc.Artifact}
		for _, stage := range desired.Pipeline.Stages {
			for _, target := range stage.Targets {
				ps := api.PlacementStatus{Stage: stage.Name, Target: target}
				for _, set := range sets {
					if set.Service != name || set.Target != target || set.Stage != stage.Name || set.State == api.SetRemoved {
						continue
					}
					artifact := ""
					if rel, err := st.Release(ctx, set.Release); err == nil {
						artifact = rel.Artifact
					}
					ps.Sets = append(ps.Sets, api.SetStatus{ID: set.ID, Release: set.Release, Artifact: artifact, State: set.State, Reason: set.Reason})
					if set.State == api.SetServing {
						ps.Serving = set.ID
						if set.Release != ss.Release {
							converged = false
						}
					}
				}
				if ps.Serving == "" {
					converged = false
				}
				for i := range rollouts {
					ro := rollouts[i]
					if ro.Service == name && ro.Stage == stage.Name && ro.Target == target {
						ps.Rollout = &ro // rollouts are ordered by start: the last is the newest
					}
				}
				if ps.Rollout != nil && ps.Rollout.Phase == api.RolloutFailed && ps.Rollout.Release == ss.Release {
					failed = ps.Rollout.Message
				}
				ss.Placements = append(ss.Placements, ps)
			}
		}
		v := journalView{sets: sets, rollouts: rollouts}
		ss.Stages = stageViews(desired, name, v)
		addBakeViews(ss.Stages, pipelineView{ds: desired, v: v, service: name}, journaledBakes(entries), s.Time)
		addGateViews(ss.Stages, desired, approvals)
		s.Services = append(s.Services, ss)
	}
	switch {
	case s.Head != nil && s.Head.Verdict != api.RevisionAccepted:
		s.Ready = api.Condition{Reason: api.ReasonRevisionRejected, Since: s.Head.SeenAt,
			Message: fmt.Sprintf("head %s was rejected (%d error(s)); still running %s", short(s.Head.Commit), len(s.Head.Errors), short(s.Applied.Commit))}
	case failed != "":
		s.Ready = api.Condition{Reason: api.ReasonRolloutFailed, Message: failed}
	case converged:
		s.Ready = api.Condition{Status: true, Reason: api.ReasonConverged, Since: s.Applied.SeenAt,
			Message: fmt.Sprintf("every service serves revision %s", short(s.Applied.Commit))}
	default:
		s.Ready = api.Condition{Reason: api.ReasonProgressing, Since: s.Applied.SeenAt,
			Message: fmt.Sprintf("rolling out revision %s", short(s.Applied.Commit))}
	}
	return s, nil
}

// Status builds the status from the journal and adds what only a running
// reconciler knows: the source's health, and the splits and counters it last
// observed. It never calls a target.
func (r *Reconciler) Status(ctx context.Context) (api.Status, error) {
	s, err := ReadStatus(ctx, r.store)
	if err != nil {
		return s, err
	}
	s.Trust = "off: no trust file; artifacts and commits are NOT verified"
	if t, _ := r.trust(); t != nil {
		s.Trust = fmt.Sprintf("artifacts verified against %s (%d rule(s)); commits: %s", t.File, len(t.Artifacts), t.Commits.Mode)
	}
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
	r.bakesServed(ctx, &s)
	return s, nil
}
