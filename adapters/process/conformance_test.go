package process

import (
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/adaptertest"
)

// TestConformance runs the runtime adapter suite against real processes.
func TestConformance(t *testing.T) {
	root := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	adaptertest.RunRuntime(t, adaptertest.RuntimeHarness{
		New: func(t *testing.T) adapters.Runtime {
			rt, err := New(Config{Root: root, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rt.Close() })
			return rt
		},
		Spec: func(t *testing.T, id string, replicas int) adapters.InfraSetSpec {
			return adapters.InfraSetSpec{ID: id, Service: "web", Release: "r1", Artifact: demoImage(t),
				Replicas: replicas, Health: adapters.HealthCheck{Path: "/healthz", ExpectStatus: 200, Timeout: time.Second}}
		},
		KillInstance: func(t *testing.T, in adapters.Instance) {
			if err := syscall.Kill(in.PID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		},
	})
}
