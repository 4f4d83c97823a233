package reconcile

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// collect removes the placement's sets that are no longer wanted: warm sets
// beyond keepWarm (oldest-served first), failed sets, and sets created for a
// release that a newer revision pre-empted. The serving set is never removed.
func (ro *rollout) collect(ctx context.Context) error {
	p, sets := ro.p, ro.sets
	want := p.service.ReleaseID()
	var warm []journal.InfraSet
	for _, s := range sets {
		if s.State == api.SetWarm && s.Release != want {
			warm = append(warm, s)
		}
	}
	slices.SortFunc(warm, func(a, b journal.InfraSet) int { return b.ServedAt.Compare(a.ServedAt) })

	for _, s := range sets {
		var why string
		switch {
		case s.State == api.SetServing:
			continue
		case s.State == api.SetRemoving:
			why = "finish removing " + s.ID
		case s.State == api.SetFailed:
			why = fmt.Sprintf("infra-set %s failed: remove it", s.ID)
		case s.State == api.SetProbe && !ro.r.probing(ctx, p):
			why = fmt.Sprintf("probe %s outlived its upgrade-downgrade test: remove it", s.ID)
		case (s.State == api.SetCreating || s.State == api.SetReady || s.State == api.SetCanary) && s.Release != want:
			why = fmt.Sprintf("infra-set %s never served and release %s is no longer desired", s.ID, short(s.Release))
		case s.State == api.SetWarm && s.Release != want && slices.IndexFunc(warm, func(w journal.InfraSet) bool { return w.ID == s.ID }) >= p.service.Strategy.KeepWarm:
			why = fmt.Sprintf("keepWarm is %d and %s is older than the warm sets kept", p.service.Strategy.KeepWarm, s.ID)
		default:
			continue
		}
		if err := ro.removeSet(ctx, s, policyKeepWarm, why); err != nil {
			return err
		}
	}
	return nil
}

// removeSet takes a set out of the traffic, waits for its in-flight requests
// to drain, stops its instances and records it removed.
func (ro *rollout) removeSet(ctx context.Context, s journal.InfraSet, rule, why string) error {
	r, p := ro.r, ro.p
	s.State, s.UpdatedAt = api.SetRemoving, time.Now().UTC()
	if s.Reason == "" {
		s.Reason = why
	}
	return r.act(ctx, p.entry(s.ID, s.Release), action{kind: api.ActionRemoveSet, rule: rule, why: why}, func() error {
		if err := r.store.PutInfraSet(ctx, s); err != nil {
			return err
		}
		if err := r.leaveTraffic(ctx, p.target, p.service.Name, ro.tr, s.ID); err != nil {
			return err
		}
		if err := ro.rt.Remove(ctx, s.ID, r.cfg.StopGrace); err != nil {
			return err
		}
		s.State, s.UpdatedAt = api.SetRemoved, time.Now().UTC()
		return r.store.PutInfraSet(ctx, s)
	})
}

// leaveTraffic drops a set from its service's split (refusing if it still
// has weight) and waits, bounded, until its in-flight requests are done.
func (r *Reconciler) leaveTraffic(ctx context.Context, target schema.Target, service string, tr adapters.Traffic, set string) error {
	split, err := r.splitOf(ctx, target, tr, service)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("read traffic split: %w", err)
	}
	if split.Weight(set) > 0 {
		return fmt.Errorf("infra-set %s still has %d%% of the traffic: refusing to remove it", set, split.Weight(set))
	}
	kept := split.Backends[:0:0]
	for _, b := range split.Backends {
		if b.Set != set {
			kept = append(kept, b)
		}
	}
	if len(kept) != len(split.Backends) {
		split.Backends = kept
		if err := r.setSplit(ctx, target, tr, split); err != nil {
			return fmt.Errorf("take %s out of the traffic: %w", set, err)
		}
	}
	deadline := time.Now().Add(r.cfg.DrainTimeout)
	for {
		n, err := r.inFlight(ctx, target, tr, service, set)
		if err != nil || n == 0 || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// collectOrphans removes instances the runtimes run that the journal does
// not know or knows as removed: the journal is the record of what should be.
// A runtime's list is the pass's observation when it has one taken since the
// last action (seen.runsOf), else asked again.
func (r *Reconciler) collectOrphans(ctx context.Context, seen *observation) error {
	all, err := r.store.InfraSets(ctx)
	if err != nil {
		return err
	}
	known := map[string]api.SetState{}
	for _, s := range all {
		known[s.ID] = s.State
	}
	for _, b := range r.targets.allRuntimes() {
		rt := b.rt
		if seen != nil && seen.unlisted[b.key] {
			continue // its listing failed this pass: next time
		}
		observed, ok := seen.runsOf(r, b.key)
		if !ok {
			var err error
			if observed, err = r.listRuntime(ctx, rt); err != nil {
				return err
			}
		}
		if b.retired && len(observed) == 0 {
			r.targets.dropRuntime(b.key)
			continue
		}
		for _, o := range observed {
			if state, ok := known[o.ID]; ok && state != api.SetRemoved || !r.owns(o.Service) {
				continue
			}
			why := fmt.Sprintf("infra-set %s runs but the journal has no live record of it: remove it", o.ID)
			base := journal.Entry{Service: o.Service, Set: o.ID, Release: o.Release}
			err := r.act(ctx, base, action{kind: api.ActionRemoveSet, rule: policyOrphan, why: why}, func() error {
				return rt.Remove(ctx, o.ID, r.cfg.StopGrace)
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// listRuntime asks a runtime what it runs, bounded as the observation is.
func (r *Reconciler) listRuntime(ctx context.Context, rt adapters.Runtime) ([]adapters.InfraSetStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	return rt.Observe(ctx)
}
