//go:build soak

package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// soaker drives one fixture through rollout cycles, SIGKILLing its
// reconciler at places of each, and records kills and violations in the
// progress.
type soaker struct {
	t    *testing.T
	f    *e2etest.Fixture
	load *harness.Load
	rng  *rand.Rand
	cfg  config
	prog *Progress
	// stop is done once the soak was asked to stop (SIGINT, SIGTERM).
	stop context.Context
	// cur is the release the fixture converged on, prev the one before.
	cur, prev release
	// loadSeen is what the load had sent, and failed, at the last save.
	loadSeen [2]int
}

// config is the soak's settings, from its environment.
type config struct {
	// Target is the number of kills to reach (SOAK_N).
	Target int
	// Dir is the state directory (SOAK_DIR).
	Dir string
	// Recycle is how many kills one fixture takes before a fresh one.
	Recycle int
}

// spread is, for each place, the bound of the random time between seeing
// the reconciler there and the kill: about the place's length, so that
// kills spread inside it.
var spread = map[e2etest.Place]time.Duration{
	e2etest.InCreation:    200 * time.Millisecond,
	e2etest.InUpDownCheck: 400 * time.Millisecond,
	e2etest.InCanary:      600 * time.Millisecond,
	e2etest.InStageBake:   2500 * time.Millisecond,
	e2etest.InGateHold:    time.Second,
	e2etest.InWarmRevert:  10 * time.Millisecond,
}

// done reports whether the soak should stop killing: its target reached,
// or asked to stop.
func (s *soaker) done() bool {
	return s.prog.Kills >= s.cfg.Target || s.stop.Err() != nil
}

// killIn kills the reconciler aimed at place, checks the journal it left,
// restarts it and checks what holds at any instant; it records the kill
// and any violation. Once the target is reached it kills no more, and the
// cycle goes on to its end; it reports false when the soak was asked to
// stop.
func (s *soaker) killIn(ctx context.Context, place e2etest.Place) bool {
	switch {
	case s.stop.Err() != nil:
		return false
	case s.prog.Kills >= s.cfg.Target:
		return true
	}
	seen := s.f.KillAimed(ctx, s.rng, e2etest.Aim{Places: []e2etest.Place{place}, Spread: spread[place], Within: time.Minute})
	landed, problems, err := s.f.KillPoint(ctx)
	if s.stop.Err() != nil {
		return false // a kill that ran into the stop is not counted
	}
	s.prog.Kills++
	k := Kill{N: s.prog.Kills, Cycle: s.prog.Cycles + 1, Aimed: place, Seen: seen, Landed: landed, At: time.Now().UTC()}
	s.prog.Log = append(s.prog.Log, k)
	s.prog.Landed[landed]++
	s.prog.Aimed[place]++
	s.t.Logf("kill %d: aimed at %s, landed in %s", k.N, place, landed)
	switch {
	case err != nil:
		s.violation("journal readable at the kill", err.Error(), false)
	case len(problems) > 0:
		s.violation("journal.Check at the kill", fmt.Sprint(problems), false)
	}
	since := s.restart(ctx)
	if err := s.f.InFlightInconsistency(ctx, since); err != nil && s.stop.Err() == nil {
		s.violation("weights and instances after the restart", err.Error(), true)
	}
	s.save()
	return true
}

// violation records a broken rule, with the reconciler's log when withLog.
func (s *soaker) violation(rule, detail string, withLog bool) {
	v := Violation{Kill: s.prog.Kills, Cycle: s.prog.Cycles + 1, Rule: rule, Detail: strings.TrimSpace(detail), At: time.Now().UTC()}
	if withLog {
		v.Log = filepath.Join(s.cfg.Dir, fmt.Sprintf("violation-%d-%d-reconciler.log", v.Kill, len(s.prog.Violations)+1))
		if err := os.WriteFile(v.Log, []byte(s.f.Logs()), 0o644); err != nil {
			v.Log = "not kept: " + err.Error()
		}
	}
	s.prog.Violations = append(s.prog.Violations, v)
	s.t.Logf("VIOLATION at kill %d (cycle %d): %s: %s", v.Kill, v.Cycle, rule, detail)
	s.save()
}

// save adds the load's requests since the last save to the progress and
// writes it to the state directory.
func (s *soaker) save() {
	total, failed, _ := s.load.Stats()
	s.prog.Requests += total - s.loadSeen[0]
	s.prog.FailedRequests += failed - s.loadSeen[1]
	s.loadSeen = [2]int{total, failed}
	if err := s.prog.save(s.cfg.Dir); err != nil {
		s.t.Fatal(err)
	}
}
