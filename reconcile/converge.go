package reconcile

import (
	"context"
	"errors"
	"sort"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// converge moves one placement one step towards its desired release and
// reports whether it is still in flight.
func (r *Reconciler) converge(ctx context.Context, p placement) (bool, error) {
	_, busy, err := r.convergeRollout(ctx, p)
	return busy, err
}

// convergeRollout is converge, also returning the rollout as the step left
// it (nil when the placement's adapters or sets could not be read).
func (r *Reconciler) convergeRollout(ctx context.Context, p placement) (*rollout, bool, error) {
	ro, err := r.newRollout(ctx, p)
	if err != nil {
		return nil, false, err
	}
	busy, err := ro.advance(ctx)
	return ro, busy, err
}

// advance is one step of converge on the rollout's placement.
func (ro *rollout) advance(ctx context.Context) (bool, error) {
	r, p := ro.r, ro.p
	if err := ro.keepRunning(ctx); err != nil {
		return false, err
	}
	busy, err := ro.scaleWarm(ctx)
	switch {
	case errors.Is(err, errDenied):
		// Held by the invariant policy (journaled): asked again next pass.
	case err != nil:
		return true, err
	}

	if serving := find(ro.sets, isServing); serving == nil || serving.Release != p.service.ReleaseID() {
		rolling, err := ro.forward(ctx)
		switch {
		case errors.Is(err, errDenied):
			// Held by a policy (journaled): keep what runs converged.
		case err != nil:
			return true, err
		default:
			busy = busy || rolling
		}
		if ro.sets, err = r.setsOf(ctx, p); err != nil {
			return busy, err
		}
	} else if err := ro.finish(ctx); err != nil {
		return false, err
	}

	if err := ro.syncSplit(ctx); err != nil {
		return true, err
	}
	if p.service.Strategy.Preview && !busy {
		if err := ro.dropPreview(ctx); err != nil {
			return true, err
		}
	}
	return busy, ro.collect(ctx)
}

func isServing(s journal.InfraSet) bool { return s.State == api.SetServing }

func find(sets []journal.InfraSet, pred func(journal.InfraSet) bool) *journal.InfraSet {
	for i := range sets {
		if pred(sets[i]) {
			s := sets[i]
			return &s
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
