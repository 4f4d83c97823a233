package remote

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/process"
	"github.com/durable-delivery/durable/adapters/router"
)

// BenchmarkRuntimeCall is the per-call cost of the process runtime, local
// (the adapter in this process) and remote (through an agent on 127.0.0.1,
// mutual TLS 1.3, the connection kept), on the same root and the same set
// of two healthy instances: Observe (a scan of /proc), and Ensure of the
// set as it is (a scan and two HTTP health checks). The difference is the
// remote adapter's overhead.
func BenchmarkRuntimeCall(b *testing.B) {
	state := b.TempDir()
	addr := startAgent(b, agentOptions{state: state})
	remote := dial(b, addr, "a1", reconcilerName).Runtime("process", nil)
	local, err := process.New(process.Config{Root: filepath.Join(state, "process"), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = local.Close() })
	removeAll(b, remote)
	spec := demoSpec(b, "bench", 2)
	waitHealthy(b, remote, spec)
	ctx := context.Background()
	for _, rt := range []struct {
		name string
		rt   adapters.Runtime
	}{{"local", local}, {"remote", remote}} {
		b.Run("Observe/"+rt.name, func(b *testing.B) {
			for b.Loop() {
				if sets, err := rt.rt.Observe(ctx); err != nil || len(sets) != 1 {
					b.Fatal(sets, err)
				}
			}
		})
		b.Run("EnsureExisting/"+rt.name, func(b *testing.B) {
			for b.Loop() {
				if st, err := rt.rt.Ensure(ctx, spec); err != nil || !st.Healthy(2) {
					b.Fatal(st, err)
				}
			}
		})
	}
}

// BenchmarkTrafficCall is the per-call cost of the router traffic adapter,
// local (the admin API's client in this process) and through an agent:
// Split, a read of one service's split.
func BenchmarkTrafficCall(b *testing.B) {
	_, host := startRouter(b)
	addr := startAgent(b, agentOptions{host: host})
	local, err := router.NewClient(host.Routers["edge"].Admin, "")
	if err != nil {
		b.Fatal(err)
	}
	remote := dial(b, addr, "a1", reconcilerName).Traffic("router", json.RawMessage(`{"admin": "edge"}`))
	ctx := context.Background()
	split := adapters.Split{Service: "web", Backends: []adapters.Backend{{Set: "s1", Weight: 100, Endpoints: []string{"127.0.0.1:9"}}}}
	if err := local.SetSplit(ctx, split); err != nil {
		b.Fatal(err)
	}
	for _, tr := range []struct {
		name string
		tr   adapters.Traffic
	}{{"local", local}, {"remote", remote}} {
		b.Run("Split/"+tr.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := tr.tr.Split(ctx, "web"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
