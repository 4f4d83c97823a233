package e2etest

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
)

// Inconsistency checks the traffic and the runtime against the journal of
// a converged reconciler, as the status shows them: on every placement the
// weights sum to 100, all of it on the serving set; every running infra-set
// is one the journal keeps (or is removing, or failed), with each instance
// once (RunningProblem). It returns the first breach, or nil.
func (f *Fixture) Inconsistency(ctx context.Context) error {
	s, err := f.API.Status(ctx)
	if err != nil {
		return fmt.Errorf("read the status: %w", err)
	}
	if err := weightsProblem(s, true); err != nil {
		return err
	}
	_, err = f.RunningProblem(ctx, s, api.SetServing, api.SetWarm, api.SetRemoving, api.SetFailed)
	return err
}

// InFlightInconsistency checks what holds at any instant, in the middle of
// a rollout too, once the reconciler observed the traffic after since (its
// start): on every placement the weights sum to 100; every running
// infra-set is one the journal knows, with each instance once. The runtime
// is observed before the status is read, and again after: the journal
// records a set before it starts it, and stops it before it records it
// removed (which the status leaves out), so a set seen running both times
// must be in the status.
func (f *Fixture) InFlightInconsistency(ctx context.Context, since time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		before, err := f.observeRuntime(ctx)
		if err != nil {
			return err
		}
		s, err := f.API.Status(ctx)
		if err == nil && observedSince(s, since) {
			if err := weightsProblem(s, false); err != nil {
				return err
			}
			after, err := f.observeRuntime(ctx)
			if err != nil {
				return err
			}
			return runningProblem(stillRunning(before, after), s, api.SetStates)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the traffic was not observed within 30s of the restart (status: %v)", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stillRunning is what before observed of the sets that after observed
// too.
func stillRunning(before, after []adapters.InfraSetStatus) []adapters.InfraSetStatus {
	var out []adapters.InfraSetStatus
	for _, o := range before {
		if slices.ContainsFunc(after, func(a adapters.InfraSetStatus) bool { return a.ID == o.ID }) {
			out = append(out, o)
		}
	}
	return out
}

// observedSince reports whether every placement's traffic was observed
// after since.
func observedSince(s api.Status, since time.Time) bool {
	for _, svc := range s.Services {
		for _, pl := range svc.Placements {
			if pl.Split == nil || pl.ObservedAt.Before(since) {
				return false
			}
		}
	}
	return true
}

// weightsProblem says which placement's weights do not sum to 100 or, with
// onServing, give traffic to a set other than the serving one.
func weightsProblem(s api.Status, onServing bool) error {
	for _, svc := range s.Services {
		for _, pl := range svc.Placements {
			if pl.Split == nil {
				return fmt.Errorf("%s/%s: no traffic split observed", pl.Stage, pl.Target)
			}
			sum := 0
			for _, b := range pl.Split.Backends {
				sum += b.Weight
				if onServing && b.Weight > 0 && b.Set != pl.Serving {
					return fmt.Errorf("%s/%s: %s has %d%% of the traffic but %s serves", pl.Stage, pl.Target, b.Set, b.Weight, pl.Serving)
				}
			}
			if sum != 100 {
				return fmt.Errorf("%s/%s: weights sum to %d: %+v", pl.Stage, pl.Target, sum, pl.Split)
			}
		}
	}
	return nil
}
