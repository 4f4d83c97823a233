//go:build soak

package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestSoak kills the reconciler SOAK_N times (default 1000) across the
// rollout cycles of a two-stage pipeline under load, and after each kill
// checks the journal the killed reconciler left (journal.Check), then,
// restarted, that the traffic weights sum to 100 and every running set is
// journaled with each instance once; after each cycle, that it converged
// and that all of the traffic is on the serving set. Its progress is kept
// in SOAK_DIR (default /tmp/durable-soak): stopped by SIGINT or SIGTERM, it
// saves it and ends; the next run goes on from there. A violation is
// recorded and the soak goes on, on a fresh fixture when the old one did
// not converge; the test fails at the end if any was recorded.
func TestSoak(t *testing.T) {
	cfg, err := soakConfig()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := loadProgress(cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	prog.Runs++
	stop, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(prog.Runs)))
	for fixture, barren := 1, 0; prog.Kills < cfg.Target && stop.Err() == nil; fixture++ {
		before := prog.Kills
		ok := t.Run(fmt.Sprintf("fixture-%d", fixture), func(t *testing.T) {
			soakFixture(t, &soaker{t: t, rng: rng, cfg: cfg, prog: prog, stop: stop})
		})
		if !ok && stop.Err() == nil {
			// The fixture failed the test itself (a restart, an
			// approval): a violation too, with its details in the log.
			prog.Violations = append(prog.Violations, Violation{Kill: prog.Kills, Cycle: prog.Cycles + 1, Rule: "the fixture runs",
				Detail: fmt.Sprintf("fixture-%d failed: see the soak's output", fixture), At: time.Now().UTC()})
		}
		if err := prog.save(cfg.Dir); err != nil {
			t.Fatal(err)
		}
		if barren++; prog.Kills > before {
			barren = 0
		}
		if barren == 3 {
			t.Fatalf("three fixtures in a row made no kill: see the soak's output")
		}
	}
	if err := prog.save(cfg.Dir); err != nil {
		t.Fatal(err)
	}
	fmt.Print(prog.summary(cfg.Target))
	if stop.Err() != nil {
		fmt.Printf("stopped: run hack/soak.sh %d again (SOAK_DIR=%s) to go on\n", cfg.Target, cfg.Dir)
	}
	if len(prog.Violations) > 0 {
		t.Errorf("%d violation(s): see %s", len(prog.Violations), filepath.Join(cfg.Dir, progressFile))
	}
}

// soakFixture runs cycles on one fixture until the soak is done, the
// fixture took its share of kills, or it did not converge.
func soakFixture(t *testing.T, s *soaker) {
	ctx := context.Background()
	s.f, s.load = startFixture(ctx, t)
	s.cur = release{Version: "v1"}
	first := s.prog.Kills
	for !s.done() && s.prog.Kills-first < s.cfg.Recycle {
		if !s.cycle(ctx) {
			break
		}
	}
	s.save()
}

// soakConfig reads the soak's settings from its environment.
func soakConfig() (config, error) {
	cfg := config{Target: 1000, Dir: "/tmp/durable-soak", Recycle: 200}
	if v := os.Getenv("SOAK_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("SOAK_N=%q: want a number of kills, 1 or more", v)
		}
		cfg.Target = n
	}
	if v := os.Getenv("SOAK_DIR"); v != "" {
		cfg.Dir = v
	}
	return cfg, nil
}
