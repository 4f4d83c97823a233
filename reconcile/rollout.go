package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// rollout is one placement as one pass of converge sees it: the target's
// adapters, the placement's journaled sets and what the runtime runs of
// them, and the record of the rollout of its desired release. converge
// builds one per placement per pass; its methods are what a rollout does:
// forward (make the new set, wait until it is healthy), the canary's steps,
// the abort, the switch, the scaling of warm sets, the collection of sets
// no longer wanted. It lives for one pass and is never shared.
type rollout struct {
	r  *Reconciler
	p  placement
	rt adapters.Runtime
	tr adapters.Traffic
	// sets are the placement's journaled sets that are not removed; read
	// again once forward changed them.
	sets []journal.InfraSet
	// statuses are what the runtime runs of each live set this pass;
	// problems the error an adapter gave ensuring a set, for a failed
	// rollout to say why; ensured the instance count each was ensured with.
	statuses map[string]adapters.InfraSetStatus
	problems map[string]string
	ensured  map[string]int
	// record is the journaled rollout of the desired release, once forward
	// found or started it; pol the policies its decisions are made with.
	record journal.Rollout
	pol    policies
}

// newRollout reads what a pass needs of a placement: its target's adapters
// and its journaled sets.
func (r *Reconciler) newRollout(ctx context.Context, p placement) (*rollout, error) {
	rt, err := r.targets.runtime(p.target)
	if err != nil {
		return nil, err
	}
	tr, err := r.targets.traffic(p.target)
	if err != nil {
		return nil, err
	}
	sets, err := r.setsOf(ctx, p)
	if err != nil {
		return nil, err
	}
	return &rollout{r: r, p: p, rt: rt, tr: tr, sets: sets,
		statuses: map[string]adapters.InfraSetStatus{}, problems: map[string]string{}, ensured: map[string]int{}}, nil
}

// setsOf lists the journal's infra-sets of a placement that are not removed.
func (r *Reconciler) setsOf(ctx context.Context, p placement) ([]journal.InfraSet, error) {
	all, err := r.store.ServiceInfraSets(ctx, p.service.Name)
	if err != nil {
		return nil, err
	}
	var out []journal.InfraSet
	for _, s := range all {
		if s.Target == p.target.Name && s.Stage == p.stage && s.State != api.SetRemoved {
			out = append(out, s)
		}
	}
	return out, nil
}

// keepRunning keeps every live set running: a crashed instance is replaced
// here. An adapter's error is kept, for a failed rollout to say why. A warm
// set in warmMode minimal keeps as many instances as it runs: only a
// journaled scale-set changes that (scaleWarm).
func (ro *rollout) keepRunning(ctx context.Context) error {
	observed := &running{rt: ro.rt}
	for _, s := range ro.sets {
		if !s.State.Live() {
			continue
		}
		spec, err := ro.r.specOf(ctx, s)
		if err != nil {
			return err
		}
		if spec.Replicas, err = ro.warmInstances(ctx, observed, s, spec.Replicas); err != nil {
			return err
		}
		if err := ro.ensure(ctx, spec); errors.Is(err, errStillEnsuring) {
			ro.r.log.Debug("ensure infra-set", "set", s.ID, "err", err)
			ro.problems[s.ID] = err.Error()
			continue
		} else if err != nil {
			ro.r.log.Warn("ensure infra-set", "set", s.ID, "err", err)
			ro.problems[s.ID] = err.Error()
			continue
		}
		ro.ensured[s.ID] = spec.Replicas
	}
	return nil
}

// ensure has the runtime run spec's set as spec says, and records what it
// then runs: in statuses, and for the invariant policy's view of the fleet
// and the scrape targets.
//
// A call still running after the pass's wait goes on in the background
// (errStillEnsuring; see pendingEnsures), bounded by the service's progress
// deadline: a set is given no longer than that to become healthy anyway.
func (ro *rollout) ensure(ctx context.Context, spec adapters.InfraSetSpec) error {
	deadline := ro.p.service.Strategy.ProgressDeadline.Duration
	if deadline <= 0 {
		deadline = 10 * time.Minute
	}
	st, err := ro.r.pending.ensure(ro.r.background(ctx), ro.r.inbox.arrived(), ro.rt, spec, deadline)
	if err != nil {
		return err
	}
	ro.statuses[spec.ID] = st
	var eps []string
	for _, in := range st.Instances {
		eps = append(eps, in.Endpoint)
	}
	r := ro.r
	r.mu.Lock()
	r.healthy[spec.ID] = len(st.Endpoints())
	r.endpoints[spec.ID] = eps
	r.mu.Unlock()
	return nil
}

// start finds or starts the record of the desired release's rollout,
// abandoning any other in flight on the placement. It returns
// proceed=false when the release already failed in this attempt: a failed
// release is not retried until a new revision that changes more than holds.
func (ro *rollout) start(ctx context.Context, serving, set *journal.InfraSet) (bool, error) {
	r, p := ro.r, ro.p
	want := p.service.ReleaseID()
	rec, err := r.store.Rollout(ctx, p.rolloutID(want))
	ro.record = rec
	switch {
	case err == nil && !rec.Done():
		return true, nil
	case err == nil && p.failedHere(rec):
		return false, nil
	case err != nil && !errors.Is(err, journal.ErrNotFound):
		return false, err
	}
	if err := r.abandonOthers(ctx, p, want); err != nil {
		return false, err
	}
	now := time.Now().UTC()
	rec = journal.Rollout{ID: p.rolloutID(want), Service: p.service.Name, Stage: p.stage, Target: p.target.Name,
		Release: want, Revision: p.revision, Set: infraSetID(p.service.Name, p.target.Name, want),
		Phase: api.RolloutCreating, StartedAt: now, UpdatedAt: now}
	if serving != nil {
		rec.FromRelease = serving.Release
	}
	if set != nil && set.State == api.SetWarm {
		rec.Rollback = true
		rec.Phase = api.RolloutSwitching
		rec.Message = "release is warm: switching traffic back at once"
		if p.service.Strategy.WarmMode == schema.WarmMinimal {
			rec.Message = "release is warm with one instance (warmMode minimal): starting the others again in its set, then switching traffic back"
		}
	}
	ro.record = rec
	return true, r.store.PutRollout(ctx, rec)
}

// abandonOthers marks every other rollout in flight on the placement as
// pre-empted; its infra-set, which never served, is collected.
func (r *Reconciler) abandonOthers(ctx context.Context, p placement, want string) error {
	all, err := r.store.ServiceRollouts(ctx, p.service.Name)
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.Done() || o.Release == want || o.Stage != p.stage || o.Target != p.target.Name {
			continue
		}
		o.Phase, o.UpdatedAt = api.RolloutAbandoned, time.Now().UTC()
		o.Message = "pre-empted by release " + short(want)
		if err := r.store.PutRollout(ctx, o); err != nil {
			return err
		}
		r.journal(ctx, journal.Entry{Kind: api.EntryEvent, Service: o.Service, Stage: o.Stage, Target: o.Target,
			Release: o.Release, Rollout: o.ID, Message: fmt.Sprintf("rollout of %s abandoned: a newer revision wants %s", short(o.Release), short(want))})
	}
	return nil
}

// finish marks the desired release's rollout succeeded once its set serves
// (after a crash between the switch and the journal write, say).
func (ro *rollout) finish(ctx context.Context) error {
	r := ro.r
	rec, err := r.store.Rollout(ctx, ro.p.rolloutID(ro.p.service.ReleaseID()))
	if errors.Is(err, journal.ErrNotFound) || (err == nil && rec.Done()) {
		return nil
	}
	if err != nil {
		return err
	}
	rec.Phase, rec.UpdatedAt = api.RolloutSucceeded, time.Now().UTC()
	return r.store.PutRollout(ctx, rec)
}
