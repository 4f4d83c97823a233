//go:build soak

package soak

import (
	"context"
	"fmt"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// Where a forward cycle can be killed, in the order a release meets them:
// in staging before prod's gate, then in prod once approved.
var (
	beforeGate = []e2etest.Place{e2etest.InCreation, e2etest.InUpDownCheck, e2etest.InCanary, e2etest.InStageBake}
	afterGate  = []e2etest.Place{e2etest.InCreation, e2etest.InCanary}
)

// cycle rolls one release through the pipeline with kills on the way, and
// checks that the reconciler converges on it and that the traffic and the
// runtime then agree with the journal. Every fourth cycle reverts to the
// release before, still warm; the others roll a new one. It reports false
// when the fixture cannot go on (it did not converge) or the soak stops.
func (s *soaker) cycle(ctx context.Context) bool {
	n := s.prog.Cycles + 1
	next, revert := release{Version: map[string]string{"v1": "v2", "v2": "v1"}[s.cur.Version], Env: fmt.Sprintf(`{ROLL: "%d"}`, n)}, false
	if n%4 == 0 && s.prev.Env != "" {
		next, revert = s.prev, true
	}
	if err := commit(ctx, s.f, next, fmt.Sprintf("Soak cycle %d: %s %s", n, next.Version, next.Env)); err != nil {
		s.violation("commit and trigger", err.Error(), false)
		return false
	}
	if !s.kills(ctx, revert) {
		return false
	}
	if err := s.converge(ctx); err != nil {
		if s.stop.Err() == nil {
			s.violation("converges after the kills", err.Error(), true)
		}
		return false
	}
	if err := s.f.Inconsistency(ctx); err != nil {
		s.violation("weights and instances once converged", err.Error(), true)
	}
	s.prev, s.cur = s.cur, next
	s.prog.Cycles++
	s.save()
	return true
}

// kills kills the reconciler in the cycle: a revert in its warm revert; a
// new release in some of the places it goes through (each at even odds,
// one at least), approving it at prod's gate once the gate held it.
func (s *soaker) kills(ctx context.Context, revert bool) bool {
	if revert {
		return s.killIn(ctx, e2etest.InWarmRevert)
	}
	before, gate, after := s.pick(beforeGate), s.rng.IntN(2) == 0, s.pick(afterGate)
	if len(before)+len(after) == 0 && !gate {
		before = beforeGate[s.rng.IntN(len(beforeGate)):][:1]
	}
	for _, pl := range before {
		if !s.killIn(ctx, pl) {
			return false
		}
	}
	if gate && !s.killIn(ctx, e2etest.InGateHold) {
		return false
	}
	if err := s.approveHeld(ctx, time.Minute); err != nil {
		if s.stop.Err() == nil {
			s.violation("reaches prod's gate", err.Error(), true)
		}
		return false
	}
	for _, pl := range after {
		if !s.killIn(ctx, pl) {
			return false
		}
	}
	return true
}

// pick is some of places, each at even odds, in their order.
func (s *soaker) pick(places []e2etest.Place) []e2etest.Place {
	var out []e2etest.Place
	for _, pl := range places {
		if s.rng.IntN(2) == 0 {
			out = append(out, pl)
		}
	}
	return out
}

// approveHeld waits until a gate holds a release and approves it, as
// `durable approve` does, then asks the reconciler to fetch.
func (s *soaker) approveHeld(ctx context.Context, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		st, err := s.f.API.Status(ctx)
		if ro := heldRollout(st); err == nil && ro != nil {
			s.f.Approve(ctx, s.t, ro.Release[:12], ro.Stage, "--reason", "soak")
			return s.f.API.Trigger(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no gate held the release within %s (last place %s)", within, e2etest.PlaceOf(st))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// heldRollout is the rollout a gate holds, or nil.
func heldRollout(st api.Status) *api.Rollout {
	for _, svc := range st.Services {
		for _, pl := range svc.Placements {
			if ro := pl.Rollout; ro != nil && !ro.Done() && ro.Verdict != nil && ro.Verdict.Result == "hold" {
				return ro
			}
		}
	}
	return nil
}

// converge waits until the reconciler serves the repository's head
// everywhere, all of the traffic on the head's release, and nothing is in
// flight.
func (s *soaker) converge(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	head, err := s.f.Repo.Head(ctx)
	if err != nil {
		return fmt.Errorf("read the head: %w", err)
	}
	var st api.Status
	for {
		st, err = s.f.API.Status(ctx)
		if err == nil && harness.ServesCommit(st, head) && e2etest.PlaceOf(st) == e2etest.Converged {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not converged on %s within 3 minutes: at %s, ready %+v (status error %v)", head[:10], e2etest.PlaceOf(st), st.Ready, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
