package core

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/journal"
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
// At each kill it checks the journal's invariants as the killed reconciler
// left them and records where the kill landed, and fails unless kills landed
// in set creations and canary steps.
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
	var kills []time.Duration
	landed := map[string]int{}
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
		wait := time.Duration(rng.Int64N(int64(1500 * time.Millisecond)))
		if strings.HasPrefix(what, "revert") {
			wait /= 10 // a warm revert is over within a few tens of ms
		}
		kills = append(kills, wait)
		time.Sleep(wait)
		f.Kill()
		landed[killPoint(ctx, t, f, i+1)]++
		time.Sleep(time.Duration(rng.Int64N(int64(300 * time.Millisecond))))
		f.StartReconciler(ctx)
		if !st.Promoted(ctx, fmt.Sprintf("rollout %d (%s), killed %s after the trigger", i+1, what, wait.Round(time.Millisecond)), c, cur) {
			t.Fatalf("rollout %d did not converge after SIGKILL at %s:\n%s", i+1, wait, f.Logs())
		}
		assertConsistent(ctx, t, f, i+1)
	}
	st.AssertNoFailedRequests(t)
	total, _, _ := st.Load.Stats()
	t.Logf("%d rollouts, each killed at a random instant (%v); %d requests, none failed; the kills landed: %v", crashRollouts, kills, total, landed)
	// Kills only after convergence would prove nothing: the wide windows
	// of a rollout must have been hit (a warm revert's, tens of ms, is
	// counted and shown, not required).
	for _, where := range []string{"set creation", "canary step"} {
		if landed[where] == 0 {
			t.Errorf("no kill landed during %s (%v): the test did not exercise it", where, landed)
		}
	}
}

// killPoint reads the journal the killed reconciler left, checks its
// invariants at that moment (journal.Check: every action decided and
// intended, every state change legal), and says where in a rollout the kill
// landed: in a warm revert, a set's creation, a canary step, a switch, with
// an action's intent unanswered, or after convergence.
func killPoint(ctx context.Context, t *testing.T, f *e2etest.Fixture, round int) string {
	t.Helper()
	st, err := journal.OpenBolt(filepath.Join(f.Dir, "state", "journal.db"), journal.BoltOptions{ReadOnly: true})
	if err != nil {
		t.Fatalf("round %d: open the killed reconciler's journal: %v", round, err)
	}
	defer st.Close()
	problems, err := journal.Check(ctx, st)
	if err != nil || len(problems) > 0 {
		t.Fatalf("round %d: the journal at the kill: %v %v", round, err, problems)
	}
	rollouts, err := st.Rollouts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ro := range rollouts {
		switch {
		case ro.Done():
		case ro.Rollback:
			return "warm revert"
		case ro.Phase == api.RolloutCreating:
			return "set creation"
		case ro.Phase == api.RolloutCanary:
			return "canary step"
		default:
			return string(ro.Phase)
		}
	}
	return "after convergence"
}

// assertConsistent checks the traffic and the runtime against the journal:
// weights sum to 100, all of it on the serving set; every running infra-set
// is one the journal keeps (or is removing), with each instance once.
func assertConsistent(ctx context.Context, t *testing.T, f *e2etest.Fixture, round int) {
	t.Helper()
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range s.Services {
		for _, pl := range svc.Placements {
			sum := 0
			for _, b := range pl.Split.Backends {
				sum += b.Weight
				if b.Weight > 0 && b.Set != pl.Serving {
					t.Fatalf("round %d: %s has %d%% of the traffic but %s serves", round, b.Set, b.Weight, pl.Serving)
				}
			}
			if sum != 100 {
				t.Fatalf("round %d: weights sum to %d: %+v", round, sum, pl.Split)
			}
		}
	}
	e2etest.RunningAsJournaled(ctx, t, f, s, api.SetServing, api.SetWarm, api.SetRemoving, api.SetFailed)
}
