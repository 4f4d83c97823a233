package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// Status is what a person needs to know about the reconciler, read from the
// journal (and, when the reconciler runs, from the targets).
type Status struct {
	Time time.Time `json:"time"`
	// Ready says whether every placement serves the head revision, why not,
	// and since when.
	Ready Condition `json:"ready"`
	// Head is the newest revision seen; Applied the newest accepted one,
	// which is what the reconciler converges on.
	Head     *RevisionStatus `json:"head,omitempty"`
	Applied  *RevisionStatus `json:"applied,omitempty"`
	Source   SourceStatus    `json:"source"`
	Services []ServiceStatus `json:"services"`
	// LastSeq is the newest journal entry, to follow the journal from.
	LastSeq uint64 `json:"lastSeq"`
	// Trust says what the running reconciler verifies.
	Trust string `json:"trust,omitempty"`
}

// Condition is a status a person can read: what is true, why, since when.
type Condition struct {
	Status  bool      `json:"status"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Since   time.Time `json:"since,omitzero"`
}

// RevisionStatus summarises a journaled revision.
type RevisionStatus struct {
	Commit  string    `json:"commit"`
	Message string    `json:"message"`
	SeenAt  time.Time `json:"seenAt"`
	Verdict string    `json:"verdict"`
	Errors  []string  `json:"errors,omitempty"`
}

// SourceStatus says whether the repository can be fetched.
type SourceStatus struct {
	Error string    `json:"error,omitempty"`
	Since time.Time `json:"since,omitzero"`
}

// ServiceStatus is one service across its placements.
type ServiceStatus struct {
	Name       string            `json:"name"`
	Release    string            `json:"release"`
	Artifact   string            `json:"artifact"`
	Placements []PlacementStatus `json:"placements"`
	// Stages is the pipeline as the service goes through it.
	Stages []StageView `json:"stages"`
}

// StageView is what one stage runs of a service, what is in flight there,
// and the releases queued for it (promoted by an earlier stage, or
// desired, and not here yet), nearest first.
type StageView struct {
	Name     string            `json:"name"`
	Serving  map[string]string `json:"serving"`
	InFlight map[string]string `json:"inFlight"`
	Queue    []string          `json:"queue"`
	// Bake and Gate are the stage's rules, with how far they are met.
	Bake *BakeView `json:"bake,omitempty"`
	Gate *GateView `json:"gate,omitempty"`
}

// PlacementStatus is one service on one target of one stage.
type PlacementStatus struct {
	Stage   string           `json:"stage"`
	Target  string           `json:"target"`
	Serving string           `json:"serving,omitempty"`
	Sets    []SetStatus      `json:"sets"`
	Rollout *journal.Rollout `json:"rollout,omitempty"`
	// Split is the traffic the adapter really applies, when it was read.
	Split *adapters.Split `json:"split,omitempty"`
}

// SetStatus is one infra-set as the journal knows it.
type SetStatus struct {
	ID       string `json:"id"`
	Release  string `json:"release"`
	Artifact string `json:"artifact"`
	State    string `json:"state"`
	Reason   string `json:"reason,omitempty"`
	// Metrics are the set's counters from the traffic adapter, when it is
	// a health source and the reconciler runs.
	Metrics *adapters.SetMetrics `json:"metrics,omitempty"`
}

// ReadStatus builds the status from the journal alone.
func ReadStatus(ctx context.Context, st journal.Store) (Status, error) {
	s := Status{Time: time.Now().UTC()}
	revs, err := st.Revisions(ctx, 0)
	if err != nil {
		return s, err
	}
	var desired *schema.DesiredState
	approvals := []policy.Approval{}
	for i, rev := range revs {
		rs := &RevisionStatus{Commit: rev.Commit, Message: rev.Message, SeenAt: rev.SeenAt, Verdict: rev.Verdict, Errors: rev.Errors}
		if i == 0 {
			s.Head = rs
		}
		if rev.Verdict == journal.RevisionAccepted {
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
		s.Ready = Condition{Reason: "NoRevision", Message: "no revision of the repository has been accepted yet"}
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
		ss := ServiceStatus{Name: name, Release: svc.ReleaseID(), Artifact: svc.Artifact}
		for _, stage := range desired.Pipeline.Stages {
			for _, target := range stage.Targets {
				ps := PlacementStatus{Stage: stage.Name, Target: target}
				for _, set := range sets {
					if set.Service != name || set.Target != target || set.Stage != stage.Name || set.State == journal.SetRemoved {
						continue
					}
					artifact := ""
					if rel, err := st.Release(ctx, set.Release); err == nil {
						artifact = rel.Artifact
					}
					ps.Sets = append(ps.Sets, SetStatus{ID: set.ID, Release: set.Release, Artifact: artifact, State: set.State, Reason: set.Reason})
					if set.State == journal.SetServing {
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
				if ps.Rollout != nil && ps.Rollout.Phase == journal.RolloutFailed && ps.Rollout.Release == ss.Release {
					failed = ps.Rollout.Message
				}
				ss.Placements = append(ss.Placements, ps)
			}
		}
		v := journalView{sets: sets, rollouts: rollouts}
		ss.Stages = stageViews(desired, name, v)
		addBakeViews(ss.Stages, desired, name, v, journaledBakes(entries), s.Time)
		addGateViews(ss.Stages, desired, approvals)
		s.Services = append(s.Services, ss)
	}
	switch {
	case s.Head != nil && s.Head.Verdict != journal.RevisionAccepted:
		s.Ready = Condition{Reason: "RevisionRejected", Since: s.Head.SeenAt,
			Message: fmt.Sprintf("head %s was rejected (%d error(s)); still running %s", short(s.Head.Commit), len(s.Head.Errors), short(s.Applied.Commit))}
	case failed != "":
		s.Ready = Condition{Reason: "RolloutFailed", Message: failed}
	case converged:
		s.Ready = Condition{Status: true, Reason: "Converged", Since: s.Applied.SeenAt,
			Message: fmt.Sprintf("every service serves revision %s", short(s.Applied.Commit))}
	default:
		s.Ready = Condition{Reason: "Progressing", Since: s.Applied.SeenAt,
			Message: fmt.Sprintf("rolling out revision %s", short(s.Applied.Commit))}
	}
	return s, nil
}

// Status builds the status from the journal and adds what only a running
// reconciler knows: the source's health and the splits really applied.
func (r *Reconciler) Status(ctx context.Context) (Status, error) {
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
		s.Source = SourceStatus{Error: r.sourceErr.Error(), Since: r.sourceErrAt}
	}
	ds := r.desired
	r.mu.Unlock()
	if s.Source.Error != "" && s.Ready.Status {
		s.Ready = Condition{Reason: "SourceUnreachable", Since: s.Source.Since,
			Message: "the repository cannot be fetched; still running " + short(s.Applied.Commit) + ": " + s.Source.Error}
	}
	if ds == nil {
		return s, nil
	}
	r.liveBakes(ctx, ds, &s)
	for i := range s.Services {
		for j := range s.Services[i].Placements {
			ps := &s.Services[i].Placements[j]
			tr, err := r.targets.traffic(ds.Targets[ps.Target])
			if err != nil {
				continue
			}
			if split, err := tr.Split(ctx, s.Services[i].Name); err == nil {
				ps.Split = &split
			}
			hs, ok := tr.(adapters.HealthSource)
			if !ok {
				continue
			}
			for k := range ps.Sets {
				if m, err := hs.SetMetrics(ctx, s.Services[i].Name, ps.Sets[k].ID); err == nil {
					ps.Sets[k].Metrics = &m
				}
			}
		}
	}
	return s, nil
}
