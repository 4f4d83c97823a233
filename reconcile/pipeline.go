package reconcile

import (
	"context"
	"sort"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// journalView is the journal's sets and rollouts at one instant.
type journalView struct {
	sets     []journal.InfraSet
	rollouts []journal.Rollout
	// bySvc is each service's sets and rollouts, in the same order: every
	// question a placement asks is about one service, and a pass asks it
	// of every service. nil: questions look through all.
	bySvc map[string]serviceRecords
	// baked reports whether a release the stage at index stage promoted
	// has baked there (see stagebake.go); nil waits for no bake.
	baked func(stage int, release string) bool
	// releaseOf is a service's desired release, remembered by the loop
	// (work.releaseOf); nil computes it.
	releaseOf func(ds *schema.DesiredState, service string) string
}

// desired is the service's desired release.
func (v journalView) desired(ds *schema.DesiredState, service string) string {
	if v.releaseOf != nil {
		return v.releaseOf(ds, service)
	}
	return ds.Services[service].ReleaseID()
}

type serviceRecords struct {
	sets     []journal.InfraSet
	rollouts []journal.Rollout
}

// view reads the journal's sets and rollouts.
func (r *Reconciler) view(ctx context.Context) (journalView, error) {
	var v journalView
	var err error
	if v.sets, err = r.store.InfraSets(ctx); err != nil {
		return v, err
	}
	if v.rollouts, err = r.store.Rollouts(ctx); err != nil {
		return v, err
	}
	v.bySvc = map[string]serviceRecords{}
	for _, s := range v.sets {
		rec := v.bySvc[s.Service]
		rec.sets = append(rec.sets, s)
		v.bySvc[s.Service] = rec
	}
	for _, ro := range v.rollouts {
		rec := v.bySvc[ro.Service]
		rec.rollouts = append(rec.rollouts, ro)
		v.bySvc[ro.Service] = rec
	}
	return v, nil
}

// serviceView is the journal's view of one service's records only: what
// deciding for one placement reads, at the cost of that service's records
// rather than the fleet's.
func (r *Reconciler) serviceView(ctx context.Context, service string) (journalView, error) {
	// Not indexed: every record is the service's.
	var v journalView
	var err error
	if v.sets, err = r.store.ServiceInfraSets(ctx, service); err != nil {
		return v, err
	}
	v.rollouts, err = r.store.ServiceRollouts(ctx, service)
	return v, err
}

// setsOf and rolloutsOf are a service's records, or all of them when the
// view is not indexed: callers still match the service.
func (v journalView) setsOf(service string) []journal.InfraSet {
	if v.bySvc == nil {
		return v.sets
	}
	return v.bySvc[service].sets
}

func (v journalView) rolloutsOf(service string) []journal.Rollout {
	if v.bySvc == nil {
		return v.rollouts
	}
	return v.bySvc[service].rollouts
}

// rolloutOn is the rollout in flight on a placement, if any; ok is false
// when the journal cannot be read (callers then keep what may be needed).
func (r *Reconciler) rolloutOn(ctx context.Context, p placement) (ro *journal.Rollout, ok bool) {
	v, err := r.serviceView(ctx, p.service.Name)
	if err != nil {
		return nil, false
	}
	return v.inFlight(p.service.Name, p.stage, p.target.Name), true
}

// failedIn reports whether release failed in stage (on any target).
func (v journalView) failedIn(service, stage, release string) bool {
	for _, ro := range v.rolloutsOf(service) {
		if ro.Service == service && ro.Stage == stage && ro.Release == release && ro.Phase == api.RolloutFailed {
			return true
		}
	}
	return false
}

// serving is the set serving on one placement, if any.
func (v journalView) serving(service, stage, target string) *journal.InfraSet {
	for _, s := range v.setsOf(service) {
		if s.Service == service && s.Stage == stage && s.Target == target && s.State == api.SetServing {
			return &s
		}
	}
	return nil
}

func (v journalView) hasSet(service, stage, target, release string, state api.SetState) bool {
	for _, s := range v.setsOf(service) {
		if s.Service == service && s.Stage == stage && s.Target == target && s.Release == release && s.State == state {
			return true
		}
	}
	return false
}

func (v journalView) inFlight(service, stage, target string) *journal.Rollout {
	for _, ro := range v.rolloutsOf(service) {
		if ro.Service == service && ro.Stage == stage && ro.Target == target && !ro.Done() {
			return &ro
		}
	}
	return nil
}

// wantOf is the release a placement converges on, so that releases flow
// through the pipeline in order (FIFO):
//
//   - a desired release that serves or is still warm on the placement is
//     wanted at once, on every stage: that is a rollback, and it pre-empts
//     whatever is in flight;
//   - the first stage wants the desired release;
//   - a later stage first finishes the rollout in flight on the placement
//     (a stage holds one release in flight), then wants the release the stage
//     before serves on every one of its targets: what it promoted, once it
//     baked there;
//   - otherwise the placement keeps what it serves ("" when nothing yet).
func wantOf(ds *schema.DesiredState, v journalView, service string, stage int, target string) string {
	desired := v.desired(ds, service)
	name := ds.Pipeline.Stages[stage].Name
	if v.hasSet(service, name, target, desired, api.SetServing) || v.hasSet(service, name, target, desired, api.SetWarm) || stage == 0 {
		return desired
	}
	if ro := v.inFlight(service, name, target); ro != nil {
		return ro.Release
	}
	prev := ds.Pipeline.Stages[stage-1]
	promoted := ""
	for i, t := range prev.Targets {
		s := v.serving(service, prev.Name, t)
		if s == nil || (i > 0 && s.Release != promoted) {
			promoted = ""
			break
		}
		promoted = s.Release
	}
	if promoted != "" && (v.baked == nil || v.baked(stage-1, promoted)) {
		return promoted
	}
	if s := v.serving(service, name, target); s != nil {
		return s.Release
	}
	return ""
}

// wanted is the service as the release its placement wants declares it: the
// desired state's when it is the desired release, else the journal's
// record of that release, and that release. ok is false when the
// placement has nothing to do.
func (r *Reconciler) wanted(ctx context.Context, ds *schema.DesiredState, service string, stage int, target string) (schema.Service, string, bool, error) {
	v, err := r.serviceView(ctx, service)
	if err != nil {
		return schema.Service{}, "", false, err
	}
	v.baked = func(stage int, release string) bool {
		return r.baked(ctx, stageRelease{pipelineView: pipelineView{ds: ds, v: v, service: service}, stage: stage, release: release})
	}
	v.releaseOf = r.work.releaseOf
	want := wantOf(ds, v, service, stage, target)
	switch want {
	case "":
		return schema.Service{}, "", false, nil
	case v.desired(ds, service):
		return ds.Services[service], want, true, nil
	}
	svc, err := r.serviceOf(ctx, want)
	return svc, want, err == nil, err
}

// stageViews shows a service's pipeline: per stage, the release serving and
// in flight on each target, and the queue of releases that an earlier stage
// serves or runs, or that is desired, but that this stage has not reached.
func stageViews(ds *schema.DesiredState, service string, v journalView) []api.StageView {
	views := make([]api.StageView, len(ds.Pipeline.Stages))
	for i, st := range ds.Pipeline.Stages {
		view := api.StageView{Name: st.Name, Serving: map[string]string{}, InFlight: map[string]string{}, Queue: []string{}}
		for _, t := range st.Targets {
			if s := v.serving(service, st.Name, t); s != nil {
				view.Serving[t] = s.Release
			}
			if ro := v.inFlight(service, st.Name, t); ro != nil {
				view.InFlight[t] = ro.Release
			}
		}
		views[i] = view
	}
	here := func(i int, release string) bool {
		for _, m := range []map[string]string{views[i].Serving, views[i].InFlight} {
			for _, r := range m {
				if r == release {
					return true
				}
			}
		}
		return false
	}
	// A release that failed in a stage is not queued there nor after it.
	failedUpTo := func(i int, release string) bool {
		for k := 0; k <= i; k++ {
			if v.failedIn(service, views[k].Name, release) {
				return true
			}
		}
		return false
	}
	desired := ds.Services[service].ReleaseID()
	for i := range views {
		queued := map[string]bool{}
		for j := i - 1; j >= -1; j-- {
			var candidates []string
			if j < 0 {
				candidates = []string{desired}
			} else {
				for _, m := range []map[string]string{views[j].Serving, views[j].InFlight} {
					for _, r := range m {
						candidates = append(candidates, r)
					}
				}
				sort.Strings(candidates)
			}
			for _, r := range candidates {
				if !here(i, r) && !queued[r] && !failedUpTo(i, r) {
					queued[r] = true
					views[i].Queue = append(views[i].Queue, r)
				}
			}
		}
	}
	return views
}

// desiredStage is the stage named name in the desired state the reconciler
// applies, if there is one.
func (r *Reconciler) desiredStage(name string) (schema.Stage, bool) {
	r.mu.Lock()
	ds := r.desired
	r.mu.Unlock()
	if ds == nil {
		return schema.Stage{}, false
	}
	for _, st := range ds.Pipeline.Stages {
		if st.Name == name {
			return st, true
		}
	}
	return schema.Stage{}, false
}
