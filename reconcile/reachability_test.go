package reconcile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// A target's outages are left out of the time a rollout there took: only
// ErrUnavailable opens one, any other outcome closes it, and an outage
// still going counts up to now.
func TestReachabilityLeavesOutagesOut(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	unavailable := fmt.Errorf("agent a1: %w", adapters.ErrUnavailable)
	var r reachability
	r.note("a1", nil, at(0))
	r.note("a1", unavailable, at(10))
	r.note("a1", unavailable, at(20)) // still down: the outage began at 10
	r.note("a2", errors.New("invalid"), at(20))
	r.note("a1", errors.New("some other failure"), at(40))
	r.note("a1", unavailable, at(100))
	for _, tc := range []struct {
		target   string
		from, to int
		live     int
	}{
		{"a1", 0, 10, 10},
		{"a1", 0, 50, 20},   // 10..40 down
		{"a1", 15, 45, 5},   // inside the outage, then 5s up
		{"a1", 0, 130, 70},  // and the outage from 100 still going
		{"a1", 110, 130, 0}, // all of it down
		{"a2", 0, 130, 130}, // another error is no outage
	} {
		if got := r.live(tc.target, at(tc.from), at(tc.to)); got != time.Duration(tc.live)*time.Second {
			t.Errorf("%s %d..%d: live %s, want %ds", tc.target, tc.from, tc.to, got, tc.live)
		}
	}
}

// Generated outcomes: the live time equals a second-by-second count of the
// seconds the target answered, and an outage longer than any progress
// deadline never makes one pass by itself.
func TestReachabilityAgreesWithCountingSeconds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for c := range 200 {
		var r reachability
		down := make([]bool, 300)
		state := false
		for s := range 300 {
			if rng.IntN(10) == 0 {
				state = !state
				var err error
				if state {
					err = adapters.ErrUnavailable
				}
				r.note("x", err, t0.Add(time.Duration(s)*time.Second))
			}
			down[s] = state
		}
		from, to := rng.IntN(300), rng.IntN(300)
		if from > to {
			from, to = to, from
		}
		want := 0
		for s := from; s < to; s++ {
			if !down[s] {
				want++
			}
		}
		if got := r.live("x", t0.Add(time.Duration(from)*time.Second), t0.Add(time.Duration(to)*time.Second)); got != time.Duration(want)*time.Second {
			t.Fatalf("case %d, %d..%d: live %s, want %ds", c, from, to, got, want)
		}
	}
}
