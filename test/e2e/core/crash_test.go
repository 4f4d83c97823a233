package core

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// crashRollouts is how many rollouts the crash test kills the reconciler in.
const crashRollouts = 50

// TestCrashAtRandomPointsAcrossRollouts SIGKILLs the reconciler at a random
// instant of each of 50 rollouts (canaries of new releases, and reverts to
// warm ones), under load, restarts it, and checks after each that it
// converged on what was committed, that the traffic weights sum to 100 on
// sets the journal has serving, that no infra-set runs that the journal does
// not know or runs an instance twice; and at the end that no request failed.
// Once restarted, before it converges, it checks what holds at any instant
// (weights summing to 100, every running set journaled, each instance once).
// Most kills are aimed (crashKill): at a set's creation, a canary step, a
// warm revert. At each kill it checks the journal's invariants as the
// killed reconciler left them and records where the kill landed, and fails
// unless kills landed in set creations, canary steps and warm reverts.
func TestCrashAtRandomPointsAcrossRollouts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	service := fmt.Sprintf(`package %s

services: web: {
	run: {env: GREETING: "hello", replicas: 2}
	health: {path: "/healthz", timeout: "1s"}
	strategy: {
		kind:     "canary"
		keepWarm: 1
		// A warm set of one instance is started again before the traffic
		// goes back: a revert of some hundreds of ms rather than tens,
		// long enough for a kill aimed at it to land inside.
		warmMode: "minimal"
		steps: [{weight: 25, bake: {time: "300ms", requests: 10}}]
		// The test is about kill points, not latency: on a loaded machine
		// a new set's first requests can be slow enough to fail the
		// default latency check (2× the baseline and 50ms more).
		analysis: {maxErrorRate: 0.01, minRequests: 5, maxLatencyIncrease: 1000}
	}
}
`, f.Repo.Pkg())
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "service.cue"), []byte(service), 0o644); err != nil {
		t.Fatal(err)
	}
	st := f.Story()
	c := f.Commit(ctx, f.Artifacts["v1"], "", "Deploy web v1")
	f.StartReconciler(ctx)
	if !st.Promoted(ctx, "deploy v1", c, "v1") {
		t.Fatalf("v1 did not converge:\n%s", f.Logs())
	}
	st.Load = harness.StartLoad(ctx, f.Router, 2, 5*time.Millisecond)
	t.Cleanup(st.Load.Stop)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	cur, prev := "v1", ""
	var kills []string
	landed := map[e2etest.Place]int{}
	for i := range crashRollouts {
		var what string
		if i%5 == 4 && prev != "" {
			var err error
			if c, err = f.Repo.Revert(ctx); err != nil {
				t.Fatal(err)
			}
			cur, prev, what = prev, cur, "revert to warm "+prev
		} else {
			next := map[string]string{"v1": "v2", "v2": "v1"}[cur]
			c = f.Commit(ctx, f.Artifacts[next], fmt.Sprintf(`{ROLL: "%d"}`, i), fmt.Sprintf("Roll %d: %s", i, next))
			cur, prev, what = next, cur, "canary of "+next
		}
		if err := f.API.Trigger(ctx); err != nil {
			t.Fatal(err)
		}
		kill := crashKill(ctx, rng, f, i)
		kills = append(kills, kill)
		where := killPoint(ctx, t, f, i+1)
		landed[where]++
		time.Sleep(time.Duration(rng.Int64N(int64(300 * time.Millisecond))))
		restarted := time.Now()
		f.StartReconciler(ctx)
		if err := f.InFlightInconsistency(ctx, restarted); err != nil {
			t.Fatalf("round %d, once restarted: %v", i+1, err)
		}
		if !st.Promoted(ctx, fmt.Sprintf("rollout %d (%s), killed %s, in %s", i+1, what, kill, where), c, cur) {
			t.Fatalf("rollout %d did not converge after SIGKILL %s:\n%s", i+1, kill, f.Logs())
		}
		assertConsistent(ctx, t, f, i+1)
	}
	st.AssertNoFailedRequests(t)
	total, _, _ := st.Load.Stats()
	t.Logf("%d rollouts, each killed once (%v); %d requests, none failed; the kills landed: %v", crashRollouts, kills, total, landed)
	// Kills only after convergence would prove nothing: the windows of a
	// rollout must have been hit, a warm revert's (short) too.
	for _, where := range []e2etest.Place{e2etest.InCreation, e2etest.InCanary, e2etest.InWarmRevert} {
		if landed[where] == 0 {
			t.Errorf("no kill landed during %s (%v): the test did not exercise it", where, landed)
		}
	}
}

// crashKill SIGKILLs the reconciler in round i of the crash test and says
// how: a revert's round aims at the warm revert; of the four rounds before
// it, one aims at the set's creation, one at the canary step (its bake
// included), and two kill at a random instant up to 1.5s after the
// trigger, which may land anywhere, convergence included.
func crashKill(ctx context.Context, rng *rand.Rand, f *e2etest.Fixture, i int) string {
	aims := map[int]e2etest.Aim{
		0: {Places: []e2etest.Place{e2etest.InCreation}, Spread: 150 * time.Millisecond, Within: 5 * time.Second},
		1: {Places: []e2etest.Place{e2etest.InCanary}, Spread: 300 * time.Millisecond, Within: 5 * time.Second},
		4: {Places: []e2etest.Place{e2etest.InWarmRevert}, Spread: 10 * time.Millisecond, Within: 2 * time.Second},
	}
	aim, ok := aims[i%5]
	if !ok {
		wait := time.Duration(rng.Int64N(int64(1500 * time.Millisecond)))
		time.Sleep(wait)
		f.Kill()
		return fmt.Sprintf("%s after the trigger", wait.Round(time.Millisecond))
	}
	if seen := f.KillAimed(ctx, rng, aim); seen != "" {
		return "aimed at " + string(seen)
	}
	return fmt.Sprintf("aimed at %s, not seen within %s", aim.Places[0], aim.Within)
}

// killPoint checks the journal the killed reconciler left (KillPoint) and
// says where in a rollout the kill landed.
func killPoint(ctx context.Context, t *testing.T, f *e2etest.Fixture, round int) e2etest.Place {
	t.Helper()
	where, problems, err := f.KillPoint(ctx)
	if err != nil || len(problems) > 0 {
		t.Fatalf("round %d: the journal at the kill: %v %v", round, err, problems)
	}
	return where
}

// assertConsistent fails the test on an inconsistency of the traffic or
// the runtime with the journal (Fixture.Inconsistency).
func assertConsistent(ctx context.Context, t *testing.T, f *e2etest.Fixture, round int) {
	t.Helper()
	if err := f.Inconsistency(ctx); err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
}
