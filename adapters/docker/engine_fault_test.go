package docker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/internal/hangtest"
)

// newFaultRuntime is a runtime of the engine at engine whose calls that
// list or remove give up after 300 ms (engineTimeout is 10 s in production).
func newFaultRuntime(t *testing.T, engine string) *Runtime {
	t.Helper()
	saved := engineTimeout
	engineTimeout = 300 * time.Millisecond
	t.Cleanup(func() { engineTimeout = saved })
	rt, err := New(Config{Engine: engine, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// fakeHungEngine is an engine socket that accepts every connection and
// never answers: an engine stuck, as a Docker daemon can be.
func fakeHungEngine(t *testing.T) string {
	t.Helper()
	return "unix://" + hangtest.FakeHungUnix(t)
}

// TestEngineHungOrDown: Ensure and Observe end within the caller's deadline
// on an engine that never answers, and at once, with ErrUnavailable, on an
// engine socket that is missing. Each error names the engine.
func TestEngineHungOrDown(t *testing.T) {
	spec := adapters.InfraSetSpec{ID: "web-fault", Service: "web", Release: "r1", Replicas: 1, Port: 8080,
		Artifact: "registry.example/web@sha256:" + strings.Repeat("0", 64)}
	calls := map[string]func(context.Context, *Runtime) error{
		"Ensure":  func(ctx context.Context, r *Runtime) error { _, err := r.Ensure(ctx, spec); return err },
		"Observe": func(ctx context.Context, r *Runtime) error { _, err := r.Observe(ctx); return err },
	}
	engines := map[string]string{"hung": fakeHungEngine(t), "down": "unix://" + filepath.Join(t.TempDir(), "docker.sock")}
	for state, engine := range engines {
		for name, call := range calls {
			t.Run(state+"/"+name, func(t *testing.T) {
				rt := newFaultRuntime(t, engine)
				ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
				defer cancel()
				start := time.Now()
				err := call(ctx, rt)
				took := time.Since(start)
				t.Logf("after %s: %v", took.Round(time.Millisecond), err)
				if !errors.Is(err, adapters.ErrUnavailable) || took > 250*time.Millisecond {
					t.Fatalf("%v after %s; want ErrUnavailable within the caller's 150ms deadline", err, took)
				}
				if !strings.Contains(err.Error(), "engine "+engine) {
					t.Errorf("error %v does not name the engine %s", err, engine)
				}
			})
		}
	}
}

// TestHungEngineWithoutCallerDeadline: Observe and Remove, which the
// reconciler may call without a deadline, end at engineTimeout on an engine
// that never answers.
func TestHungEngineWithoutCallerDeadline(t *testing.T) {
	rt := newFaultRuntime(t, fakeHungEngine(t))
	for name, call := range map[string]func() error{
		"Observe": func() error { _, err := rt.Observe(context.Background()); return err },
		"Remove":  func() error { return rt.Remove(context.Background(), "web-fault", time.Second) },
	} {
		start := time.Now()
		err := call()
		took := time.Since(start)
		t.Logf("%s after %s: %v", name, took.Round(time.Millisecond), err)
		if !errors.Is(err, adapters.ErrUnavailable) || took > time.Second {
			t.Errorf("%s: %v after %s; want ErrUnavailable at engineTimeout (300ms)", name, err, took)
		}
	}
}
