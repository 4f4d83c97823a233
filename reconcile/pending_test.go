package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
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
	f, warm := withWarmSet(ctx, t, "a", "b")
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

// hungListing is a runtime whose listing hangs (a Docker engine that
// accepts and never answers) until its caller gives up.
type hungListing struct{ *recordingRuntime }

func (h hungListing) Observe(ctx context.Context) ([]adapters.InfraSetStatus, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestRevertIsNotHeldByAHungListing: with the runtime's listing hung, a
// revert to a warm set switches the traffic before the pass observes the
// targets, well within 1 s of the commit being seen, and the pass itself
// ends at the observation's bound, naming the runtime as failing.
func TestRevertIsNotHeldByAHungListing(t *testing.T) {
	ctx := context.Background()
	f, warm := withWarmSet(ctx, t, "aa", "ba")
	f.r.pass(ctx) // marks the fleet clean: the next pass observes it
	f.r.targets.runtimes[adapterKey(f.target.Runtime)] = hungListing{f.rt}
	f.revision("c3", "aa") // the revert of svc-0; svc-1 is checked clean
	seen := time.Now()
	passed := make(chan struct{})
	go func() { f.r.pass(ctx); close(passed) }()
	for {
		split, err := f.tr.Split(ctx, "svc-0")
		if err == nil && split.Weight(warm) == 100 {
			break
		}
		if time.Since(seen) > 5*time.Second {
			t.Fatalf("the revert did not switch the traffic while the listing hung: %+v (%v)", split, err)
		}
		time.Sleep(time.Millisecond)
	}
	if took := time.Since(seen); took > time.Second {
		t.Fatalf("the revert took %s behind a hung listing; want under 1s", took)
	}
	select {
	case <-passed:
	case <-time.After(observeTimeout + 5*time.Second):
		t.Fatal("the pass did not end at the observation's bound")
	}
	s, err := f.r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantFailing(t, s, "target t runtime fake", "deadline exceeded")
}

// withWarmSet is a fleet of the services first, then moved to then: svc-0's
// first release stays warm, in the set it returns.
func withWarmSet(ctx context.Context, t *testing.T, first, then string) (*fleetHarness, string) {
	f := newFleetHarness(t)
	f.revision("c1", first)
	f.settle(ctx)
	warm := f.set("svc-0")
	f.revision("c2", then)
	f.settle(ctx)
	return f, warm
}
