package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/source"
)

// TestRevertIsNotHeldByAHungEnsure: a new release's Ensure hangs (a
// registry that accepts and never answers); a revert to the warm release
// committed meanwhile switches the traffic at once, while the hung call is
// still hanging; the create's intent is answered in the journal; and the
// hung call ends with its context.
func TestRevertIsNotHeldByAHungEnsure(t *testing.T) {
	ctx := context.Background()
	f := newFleetHarness(t)
	f.revision("c1", "a")
	f.settle(ctx)
	warm := f.set("svc-0")
	f.revision("c2", "b") // a stays warm
	f.settle(ctx)
	f.revision("c3", "c")
	hung, release := make(chan struct{}), make(chan struct{})
	f.rt.onEnsure = func(id string) {
		if strings.HasPrefix(id, f.set("svc-0")) {
			close(hung)
			<-release // the registry never answers until the test lets it
		}
	}
	passed := make(chan bool)
	go func() { passed <- f.r.pass(ctx) }()
	<-hung
	seen := time.Now()
	f.r.inbox.put(snapshotResult{snap: source.Snapshot{Commit: "c4"}})
	select {
	case <-passed:
	case <-time.After(5 * time.Second):
		t.Fatal("the pass stayed in the hung Ensure after a newer revision arrived")
	}
	f.r.inbox.take()
	f.revision("c4", "a") // the revert
	f.rt.onEnsure = nil
	f.r.pass(ctx)
	split, err := f.tr.Split(ctx, "svc-0")
	if err != nil || split.Weight(warm) != 100 {
		t.Fatalf("after the revert's pass the split is %+v (%v); want all on the warm %s", split, err, warm)
	}
	if took := time.Since(seen); took > time.Second {
		t.Fatalf("the revert took %s from the commit being seen, behind a hung Ensure; want under 1s", took)
	}
	select {
	case <-release:
		t.Fatal("unreachable")
	default: // the hung call is still hanging: nothing waited for it
	}
	entries, err := f.st.Entries(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	answered := map[uint64]bool{}
	for _, e := range entries {
		if e.Kind == api.EntryOutcome {
			answered[e.Intent] = true
		}
	}
	for _, e := range entries {
		if e.Kind == api.EntryIntent && !answered[e.Seq] {
			t.Errorf("intent %d (%s %s) has no outcome", e.Seq, e.Action, e.Set)
		}
	}
	close(release)
	f.r.pending.wait()
}
