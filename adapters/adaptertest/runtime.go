// Package adaptertest is the conformance suite every adapter passes, run
// against the real thing (real processes, a real router, a real engine):
// calls are idempotent, observation reports reality after outside changes,
// removal leaves nothing behind, deadlines are honoured and errors are typed.
//
// An adapter's own tests call RunRuntime or RunTraffic with a harness that
// knows how to make a valid instruction for it and how to break things "by
// hand". The suite must never import reconcile: it speaks only the adapter
// contracts.
package adaptertest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// RuntimeHarness is what the runtime suite needs to know of one adapter.
type RuntimeHarness struct {
	// New returns an adapter for the target under test. Two adapters from
	// New act on the same target (as a restarted reconciler would).
	New func(t *testing.T) adapters.Runtime
	// Spec returns a valid instruction for an infra-set id with replicas
	// instances of a real, healthy artifact.
	Spec func(t *testing.T, id string, replicas int) adapters.InfraSetSpec
	// KillInstance ends one instance behind the adapter's back.
	KillInstance func(t *testing.T, in adapters.Instance)
	// Timeout bounds waiting for instances to become healthy.
	Timeout time.Duration
}

// RunRuntime runs the runtime conformance suite.
func RunRuntime(t *testing.T, h RuntimeHarness) {
	if h.Timeout <= 0 {
		h.Timeout = 2 * time.Minute
	}
	t.Run("EnsureIsIdempotent", func(t *testing.T) { ensureIsIdempotent(t, h) })
	t.Run("ObserveSeesOutsideChanges", func(t *testing.T) { observeSeesOutsideChanges(t, h) })
	t.Run("RestartedAdapterReadopts", func(t *testing.T) { restartedAdapterReadopts(t, h) })
	t.Run("ScaleUpAndDown", func(t *testing.T) { scaleUpAndDown(t, h) })
	t.Run("RemoveLeavesNothing", func(t *testing.T) { removeLeavesNothing(t, h) })
	t.Run("ErrorsAreTyped", func(t *testing.T) { errorsAreTyped(t, h) })
	t.Run("HonoursDeadlines", func(t *testing.T) { honoursDeadlines(t, h) })
}

// ensureHealthy calls Ensure until every instance is healthy.
func ensureHealthy(t *testing.T, h RuntimeHarness, rt adapters.Runtime, spec adapters.InfraSetSpec) adapters.InfraSetStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	for {
		st, err := rt.Ensure(ctx, spec)
		if err != nil {
			t.Fatalf("Ensure %s: %v", spec.ID, err)
		}
		if st.Healthy(spec.Replicas) {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("infra-set %s not healthy within %s: %+v", spec.ID, h.Timeout, st.Instances)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// cleanup removes the set at the end of the test, whatever happened.
func cleanup(t *testing.T, rt adapters.Runtime, id string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := rt.Remove(ctx, id, 5*time.Second); err != nil {
			t.Errorf("cleanup: remove %s: %v", id, err)
		}
	})
}

func observed(t *testing.T, rt adapters.Runtime, id string) (adapters.InfraSetStatus, bool) {
	t.Helper()
	sets, err := rt.Observe(context.Background())
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	for _, s := range sets {
		if s.ID == id {
			return s, true
		}
	}
	return adapters.InfraSetStatus{}, false
}

func endpoints(st adapters.InfraSetStatus) []string {
	var out []string
	for _, in := range st.Instances {
		out = append(out, in.Endpoint)
	}
	slices.Sort(out)
	return out
}

func ensureIsIdempotent(t *testing.T, h RuntimeHarness) {
	rt := h.New(t)
	spec := h.Spec(t, "conformance-idempotent", 2)
	cleanup(t, rt, spec.ID)
	first := ensureHealthy(t, h, rt, spec)
	second := ensureHealthy(t, h, rt, spec)
	if !slices.Equal(endpoints(first), endpoints(second)) {
		t.Fatalf("Ensure twice changed the instances: %v then %v", endpoints(first), endpoints(second))
	}
	obs, ok := observed(t, rt, spec.ID)
	if !ok || len(obs.Instances) != 2 {
		t.Fatalf("after Ensure twice, observed %+v", obs)
	}
}

func observeSeesOutsideChanges(t *testing.T, h RuntimeHarness) {
	rt := h.New(t)
	spec := h.Spec(t, "conformance-observe", 2)
	cleanup(t, rt, spec.ID)
	st := ensureHealthy(t, h, rt, spec)
	victim := st.Instances[0]
	h.KillInstance(t, victim)
	deadline := time.Now().Add(h.Timeout)
	for {
		obs, _ := observed(t, rt, spec.ID)
		if !slices.Contains(endpoints(obs), victim.Endpoint) && len(obs.Instances) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an instance killed by hand is still observed: %+v", obs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := ensureHealthy(t, h, rt, spec); len(st.Instances) != 2 {
		t.Fatalf("Ensure did not replace the killed instance: %+v", st)
	}
}

func restartedAdapterReadopts(t *testing.T, h RuntimeHarness) {
	first := h.New(t)
	spec := h.Spec(t, "conformance-readopt", 2)
	cleanup(t, first, spec.ID)
	before := ensureHealthy(t, h, first, spec)
	second := h.New(t)
	obs, ok := observed(t, second, spec.ID)
	if !ok || !slices.Equal(endpoints(obs), endpoints(before)) {
		t.Fatalf("a new adapter does not observe what the first runs: %+v", obs)
	}
	after := ensureHealthy(t, h, second, spec)
	if !slices.Equal(endpoints(after), endpoints(before)) {
		t.Fatalf("a new adapter started duplicates: %v, was %v", endpoints(after), endpoints(before))
	}
}

func scaleUpAndDown(t *testing.T, h RuntimeHarness) {
	rt := h.New(t)
	spec := h.Spec(t, "conformance-scale", 1)
	cleanup(t, rt, spec.ID)
	for _, n := range []int{1, 3, 1} {
		spec.Replicas = n
		ensureHealthy(t, h, rt, spec)
		deadline := time.Now().Add(h.Timeout)
		for {
			obs, _ := observed(t, rt, spec.ID)
			if len(obs.Instances) == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("scaled to %d, observed %d instances", n, len(obs.Instances))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func removeLeavesNothing(t *testing.T, h RuntimeHarness) {
	rt := h.New(t)
	spec := h.Spec(t, "conformance-remove", 2)
	cleanup(t, rt, spec.ID)
	ensureHealthy(t, h, rt, spec)
	ctx := context.Background()
	if err := rt.Remove(ctx, spec.ID, 5*time.Second); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if obs, ok := observed(t, rt, spec.ID); ok {
		t.Fatalf("removed set still observed: %+v", obs)
	}
	if err := rt.Remove(ctx, spec.ID, time.Second); err != nil {
		t.Fatalf("Remove of an absent set: %v", err)
	}
}

func errorsAreTyped(t *testing.T, h RuntimeHarness) {
	rt := h.New(t)
	spec := h.Spec(t, "conformance-errors", 1)
	cleanup(t, rt, spec.ID)
	spec.Artifact = "127.0.0.1:1/not/pinned:latest"
	if _, err := rt.Ensure(context.Background(), spec); !errors.Is(err, adapters.ErrInvalid) {
		t.Fatalf("an artifact pinned by tag: %v, want ErrInvalid", err)
	}
}

func honoursDeadlines(t *testing.T, h RuntimeHarness) {
	rt := h.New(t)
	spec := h.Spec(t, "conformance-deadline", 1)
	cleanup(t, rt, spec.ID)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// With a cancelled context every call returns (an error or not), and
	// none blocks.
	returns(t, h, "Ensure", func() { _, _ = rt.Ensure(ctx, spec) })
	returns(t, h, "Observe", func() { _, _ = rt.Observe(ctx) })
	returns(t, h, "Remove", func() { _ = rt.Remove(ctx, spec.ID, time.Second) })
}

func returns(t *testing.T, h RuntimeHarness, call string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(h.Timeout):
		t.Fatalf("%s with a cancelled context did not return within %s", call, h.Timeout)
	}
}
