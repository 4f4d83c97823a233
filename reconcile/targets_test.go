package reconcile

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// closerFake is a test double, not an adapter: it only records Close, so
// that the target set's lifecycle can be checked without a real target.
type closerFake struct {
	adapters.Runtime
	adapters.Traffic
	closed *int
}

func (c closerFake) Close() error { *c.closed++; return nil }

func (c closerFake) Observe(context.Context) ([]adapters.InfraSetStatus, error) { return nil, nil }

var closerFakeCloses int

func init() {
	adapters.RegisterRuntime("test-closer", func(json.RawMessage, adapters.Host) (adapters.Runtime, error) {
		return closerFake{closed: &closerFakeCloses}, nil
	})
	adapters.RegisterTraffic("test-closer", func(json.RawMessage, adapters.Host) (adapters.Traffic, error) {
		return closerFake{closed: &closerFakeCloses}, nil
	})
}

func TestTargetSetClosesAdaptersNoTargetUses(t *testing.T) {
	closerFakeCloses = 0
	target := func(config string) schema.Target {
		a := schema.Adapter{Kind: "test-closer", Config: json.RawMessage(config)}
		return schema.Target{Name: "t", Runtime: a, Traffic: a}
	}
	old, next := target(`{"v":1}`), target(`{"v":2}`)
	ts := newTargetSet(adapters.Host{}, Fleet{})
	if _, err := ts.runtime(old); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.traffic(old); err != nil {
		t.Fatal(err)
	}
	ts.retain(&schema.DesiredState{Targets: map[string]schema.Target{"t": next}})
	if closerFakeCloses != 1 || len(ts.traffics) != 0 {
		t.Fatalf("after the target's traffic settings changed: %d close(s), %d traffic adapter(s); want the old one closed and forgotten", closerFakeCloses, len(ts.traffics))
	}
	built := ts.allRuntimes()
	if len(built) != 1 || !built[0].retired {
		t.Fatalf("runtimes %+v: want the old one kept, retired, until it runs nothing", built)
	}
	st, err := journal.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := &Reconciler{targets: ts, store: st, cfg: Config{StopGrace: time.Second}}
	if err := r.collectOrphans(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if closerFakeCloses != 2 || len(ts.runtimes) != 0 {
		t.Fatalf("after collecting a retired runtime that runs nothing: %d close(s), %d runtime(s)", closerFakeCloses, len(ts.runtimes))
	}
	if _, err := ts.runtime(next); err != nil {
		t.Fatal(err)
	}
	ts.close()
	if closerFakeCloses != 3 {
		t.Fatalf("close: %d close(s), want 3", closerFakeCloses)
	}
}
