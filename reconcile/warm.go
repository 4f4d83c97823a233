package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// Warm sets in strategy.warmMode "minimal" run one instance: a set that goes
// warm is scaled down to one once the new set took all of the traffic, and
// a rollback to it first starts its other instances again, in the same set,
// and switches the traffic only once they are all healthy.
//
// The number of instances a warm set runs is not journaled: the runtime's
// instances are the record. A pass reads what the runtime really runs,
// keeps that, and journals a scale-set (an intent, then the runtime's
// Ensure) when it differs from what the set should run. A reconciler killed
// in the middle finds the instances as they were left and scales again if
// they are not yet what they should be; a scale repeated is harmless.
const (
	policyWarmMinimal = "builtin/warm-minimal"
)

// warmReplicas is how many instances a warm set should run: all of its
// release's replicas, except in warmMode minimal where a set kept warm runs
// one until a rollback to it wants all of them again.
func warmReplicas(mode string, replicas int, rollingBack bool) int {
	if mode != schema.WarmMinimal || rollingBack || replicas < 1 {
		return replicas
	}
	return 1
}

// running counts, once per pass of a placement, the instances the runtime
// really runs of each infra-set.
type running struct {
	rt  adapters.Runtime
	top map[string]int
}

// of is how many instances set s runs, as the instance count Ensure needs to
// keep all of them: the highest instance index plus one (an instance lost
// below it is replaced, none above it is stopped), between 1 and replicas.
func (c *running) of(ctx context.Context, id string, replicas int) (int, error) {
	if c.top == nil {
		observed, err := c.rt.Observe(ctx)
		if err != nil {
			return 0, fmt.Errorf("observe the runtime: %w", err)
		}
		c.top = map[string]int{}
		for _, o := range observed {
			for _, in := range o.Instances {
				c.top[o.ID] = max(c.top[o.ID], in.Index+1)
			}
		}
	}
	return min(max(c.top[id], 1), max(replicas, 1)), nil
}

// warmInstances is how many instances the pass keeps running in a live set
// before any scaling: its release's replicas, but for a warm set in
// warmMode minimal what the runtime runs now, so that only a journaled
// scale-set changes it.
func (ro *rollout) warmInstances(ctx context.Context, c *running, s journal.InfraSet, replicas int) (int, error) {
	if s.State != api.SetWarm || ro.p.service.Strategy.WarmMode != schema.WarmMinimal {
		return replicas, nil
	}
	return c.of(ctx, s.ID, replicas)
}

// rollingBackTo reports whether the placement rolls back to warm set s: it
// runs the desired release, and that release has not already failed in
// this attempt (start's rule for starting a rollout).
func (ro *rollout) rollingBackTo(ctx context.Context, s journal.InfraSet) (bool, error) {
	p := ro.p
	if s.State != api.SetWarm || s.Release != p.service.ReleaseID() {
		return false, nil
	}
	rec, err := ro.r.store.Rollout(ctx, p.rolloutID(s.Release))
	switch {
	case errors.Is(err, journal.ErrNotFound):
		return true, nil
	case err != nil:
		return false, err
	}
	return !p.failedHere(rec), nil
}

// scaleDetail is a scale-set intent's detail in the journal.
type scaleDetail struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// scaleWarm scales the placement's warm sets to what they should run, given
// the instance count each was ensured with this pass. It reports whether
// one still waits (for its in-flight requests to drain).
func (ro *rollout) scaleWarm(ctx context.Context) (bool, error) {
	mode := ro.p.service.Strategy.WarmMode
	if mode != schema.WarmMinimal {
		return false, nil
	}
	busy := false
	for _, s := range ro.sets {
		have, ok := ro.ensured[s.ID]
		if s.State != api.SetWarm || !ok {
			continue
		}
		spec, err := ro.r.specOf(ctx, s)
		if err != nil {
			return busy, err
		}
		back, err := ro.rollingBackTo(ctx, s)
		if err != nil {
			return busy, err
		}
		want := warmReplicas(mode, spec.Replicas, back)
		switch {
		case want > have:
			err = ro.scaleUp(ctx, s, spec, scaleDetail{From: have, To: want})
		case want < have:
			var wait bool
			wait, err = ro.scaleDown(ctx, s, spec, scaleDetail{From: have, To: want})
			busy = busy || wait
		}
		if err != nil {
			return busy, err
		}
	}
	return busy, nil
}

// scaleUp starts a warm set's missing instances again, for a rollback to
// it: the traffic switches once they are all healthy (forward).
func (ro *rollout) scaleUp(ctx context.Context, s journal.InfraSet, spec adapters.InfraSetSpec, scale scaleDetail) error {
	why := fmt.Sprintf("rollback to release %s, warm in %s with %d of %d instances (warmMode minimal): start the other %d again in the same set; traffic switches once all are healthy",
		short(s.Release), s.ID, scale.From, scale.To, scale.To-scale.From)
	spec.Replicas = scale.To
	return ro.r.act(ctx, ro.p.entry(s.ID, s.Release), action{kind: api.ActionScaleSet, rule: policyRollback, why: why, detail: scale}, func() error {
		return ro.ensure(ctx, spec)
	})
}

// scaleDown leaves a warm set one instance. The set is warm because the set
// that replaced it took all of the traffic (make before break); its
// in-flight requests are drained first (bounded by the drain timeout from
// when it went warm) and the instances it stops leave the traffic adapter's
// split before they stop. It reports whether it waits for the drain.
func (ro *rollout) scaleDown(ctx context.Context, s journal.InfraSet, spec adapters.InfraSetSpec, scale scaleDetail) (bool, error) {
	r, p, tr := ro.r, ro.p, ro.tr
	split, err := r.splitOf(ctx, p.target, tr, p.service.Name)
	if err != nil && !isNotFound(err) {
		return false, fmt.Errorf("read traffic split: %w", err)
	}
	if split.Weight(s.ID) > 0 {
		return true, nil // the split is restored first (syncSplit)
	}
	if n, err := r.inFlight(ctx, p.target, tr, p.service.Name, s.ID); err == nil && n > 0 && time.Since(s.UpdatedAt) < r.cfg.DrainTimeout {
		return true, nil
	}
	why := fmt.Sprintf("infra-set %s is warm and warmMode is minimal: keep %d of its %d instances running; a rollback to release %s starts the others again",
		s.ID, scale.To, spec.Replicas, short(s.Release))
	spec.Replicas = scale.To
	err = r.act(ctx, p.entry(s.ID, s.Release), action{kind: api.ActionScaleSet, rule: policyWarmMinimal, why: why, detail: scale}, func() error {
		if trimmed, ok := withoutStopped(split, s.ID, ro.statuses[s.ID], scale.To); ok {
			if err := r.setSplit(ctx, p.target, tr, trimmed); err != nil {
				return fmt.Errorf("take the stopping instances of %s out of the traffic: %w", s.ID, err)
			}
		}
		return ro.ensure(ctx, spec)
	})
	return false, err
}

// withoutStopped is split with set's backend reduced to the endpoints of
// its instances below index keep, and whether that changes the split.
func withoutStopped(split adapters.Split, set string, st adapters.InfraSetStatus, keep int) (adapters.Split, bool) {
	kept := map[string]bool{}
	for _, in := range st.Instances {
		if in.Index < keep {
			kept[in.Endpoint] = true
		}
	}
	out := adapters.Split{Service: split.Service, Backends: slices.Clone(split.Backends)}
	changed := false
	for i, b := range out.Backends {
		if b.Set != set {
			continue
		}
		eps := slices.DeleteFunc(slices.Clone(b.Endpoints), func(ep string) bool { return !kept[ep] })
		if len(eps) == len(b.Endpoints) {
			continue
		}
		changed = true
		if len(eps) == 0 {
			// Not routable until its kept instance is seen again (syncSplit).
			out.Backends = slices.Delete(out.Backends, i, i+1)
			break
		}
		out.Backends[i].Endpoints = eps
	}
	return out, changed
}
