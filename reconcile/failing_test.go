package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
)

// TestStatusNamesTheFailingDependency: with the traffic adapter down, then
// the runtime's listing, status names the dependency with its error and
// each placement's converge error, keeps when the failure started while it
// lasts, and shows none once they answer again.
func TestStatusNamesTheFailingDependency(t *testing.T) {
	ctx := context.Background()
	f := newFleetHarness(t)
	f.revision("c1", "ab")
	f.settle(ctx)
	f.r.pass(ctx) // marks them clean: the next pass observes the targets
	status := func() api.Status {
		t.Helper()
		s, err := f.r.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := status(); len(s.Failing) != 0 {
		t.Fatalf("all answer, yet status says failing: %+v", s.Failing)
	}

	down := fmt.Errorf("router admin 127.0.0.1:9: connection refused: %w", adapters.ErrUnavailable)
	f.r.targets.traffics[adapterKey(f.target, f.target.Traffic)] = faultyTraffic{newFailure(down)}
	f.r.pass(ctx)
	first := status()
	wantFailing(t, first, "target t traffic fake", "connection refused")
	for _, svc := range first.Services {
		for _, pl := range svc.Placements {
			if pl.Error == nil || !strings.Contains(pl.Error.Error, "connection refused") {
				t.Errorf("%s on %s: error %+v; want the router's", svc.Name, pl.Target, pl.Error)
			}
		}
	}
	f.r.pass(ctx)
	if again := status(); !again.Failing[0].Since.Equal(first.Failing[0].Since) {
		t.Errorf("failing since %s, then %s: the start of a lasting failure moved", first.Failing[0].Since, again.Failing[0].Since)
	}

	f.listSplits() // the router again, which lists its splits
	f.settle(ctx)
	f.r.pass(ctx)
	hung := newFailure(errors.New("docker engine: hung: no answer within 10s"))
	f.r.targets.runtimes[adapterKey(f.target, f.target.Runtime)] = faultyRuntime{recordingRuntime: f.rt, ensureOf: "svc-", listing: true, fl: hung}
	f.r.pass(ctx)
	wantFailing(t, status(), "target t runtime fake", "no answer within 10s")

	f.r.targets.runtimes[adapterKey(f.target, f.target.Runtime)] = f.rt
	f.settle(ctx)
	f.r.pass(ctx) // marks the fleet clean again: the next pass observes it
	f.r.pass(ctx)
	s := status()
	if len(s.Failing) != 0 {
		t.Errorf("all answer again, yet status says failing: %+v", s.Failing)
	}
	for _, svc := range s.Services {
		for _, pl := range svc.Placements {
			if pl.Error != nil {
				t.Errorf("%s on %s converges again, yet shows the error %+v", svc.Name, pl.Target, pl.Error)
			}
		}
	}
}

// TestRouterDownShownWhenNothingIsObserved: a pass after a revision that
// changes every service converges every placement and observes nothing;
// with the router down, status still names it (the converge's own calls
// are noted), and once it answers again, no longer. Found flaking in
// TestRevertUnderEachDependencyFault: a revert's pass met only placements
// a newer revision had left dirty, and status named no dependency.
func TestRouterDownShownWhenNothingIsObserved(t *testing.T) {
	ctx := context.Background()
	f := newFleetHarness(t)
	f.revision("c1", "ab")
	f.settle(ctx)
	down := fmt.Errorf("router admin 127.0.0.1:9: connection refused: %w", adapters.ErrUnavailable)
	key := adapterKey(f.target, f.target.Traffic)
	router := &listCounting{faultyTraffic: faultyTraffic{newFailure(down)}}
	f.r.targets.traffics[key] = router
	f.revision("c2", "ba")
	f.r.pass(ctx)
	if n := router.lists.Load(); n != 0 {
		t.Fatalf("the pass listed the router's splits %d time(s); want none (every placement changed: nothing observed)", n)
	}
	s, err := f.r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantFailing(t, s, "target t traffic fake", "connection refused")

	f.r.targets.traffics[key] = f.tr
	f.r.pass(ctx)
	if s, err = f.r.Status(ctx); err != nil || len(s.Failing) != 0 {
		t.Fatalf("the router answers again, yet status says failing %+v (%v)", s.Failing, err)
	}
}

// listCounting is a failing traffic adapter that counts its listings (the
// observation's calls).
type listCounting struct {
	faultyTraffic
	lists atomic.Int64
}

func (l *listCounting) Splits(ctx context.Context) ([]adapters.Split, error) {
	l.lists.Add(1)
	return l.faultyTraffic.Splits(ctx)
}

func wantFailing(t *testing.T, s api.Status, dependency, text string) {
	t.Helper()
	if len(s.Failing) != 1 || s.Failing[0].Dependency != dependency || !strings.Contains(s.Failing[0].Error, text) || s.Failing[0].Since.IsZero() {
		t.Fatalf("status says failing %+v; want %s with %q", s.Failing, dependency, text)
	}
}

// A dependency's change is journaled once, for the notifications: down
// when its tries start failing, up when one succeeds, not on every try.
func TestADependencyChangeIsJournaledOnce(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	down := errors.New("dial tcp 127.0.0.1:9: connection refused")
	for _, err := range []error{down, down, down, nil, nil, down, nil} {
		h.r.noteTry(ctx, "prometheus http://127.0.0.1:9", err)
	}
	entries, err := h.st.Entries(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, e := range entries {
		if e.Action == api.ActionDependencyDown || e.Action == api.ActionDependencyUp {
			changes = append(changes, string(e.Action)+" "+e.Result+" "+e.Error)
		}
	}
	want := []string{
		"dependency-down prometheus http://127.0.0.1:9 " + down.Error(), "dependency-up prometheus http://127.0.0.1:9 ",
		"dependency-down prometheus http://127.0.0.1:9 " + down.Error(), "dependency-up prometheus http://127.0.0.1:9 ",
	}
	if strings.Join(changes, "\n") != strings.Join(want, "\n") {
		t.Errorf("journaled:\n%s\nwant:\n%s", strings.Join(changes, "\n"), strings.Join(want, "\n"))
	}
}

// TestSplitKeptWhileAnEnsureDoesNotAnswer: when the Ensure of a set the
// split routes fails (the Docker engine down), the pass leaves the split
// as it is, the warm set in it, and the placement's error is the
// runtime's, not a claim that the set runs nothing. Found beside the flaky
// revert test: an Ensure a newer revision cut short left a pass writing
// "serves but has no instance running".
func TestSplitKeptWhileAnEnsureDoesNotAnswer(t *testing.T) {
	ctx := context.Background()
	f, warm := withWarmSet(ctx, t, "aa", "ba")
	serving := f.set("svc-0")
	before, err := f.tr.Split(ctx, "svc-0")
	if err != nil || before.Weight(serving) != 100 || !slices.ContainsFunc(before.Backends, func(b adapters.Backend) bool { return b.Set == warm }) {
		t.Fatalf("svc-0's split is %+v (%v); want %s serving, %s warm in it", before, err, serving, warm)
	}
	down := fmt.Errorf("docker: engine unreachable: connection refused: %w", adapters.ErrUnavailable)
	for _, id := range []string{warm, serving} {
		f.r.targets.runtimes[adapterKey(f.target, f.target.Runtime)] = faultyRuntime{recordingRuntime: f.rt, ensureOf: id, fl: newFailure(down)}
		f.r.work.keys = map[string]cleanKey{} // converged, not taken as clean
		f.r.pass(ctx)
		after, err := f.tr.Split(ctx, "svc-0")
		if err != nil || !sameSplit(before, after) {
			t.Fatalf("with the Ensure of %s failing, the split became %+v (%v); want it kept: %+v", id, after, err, before)
		}
		s, err := f.r.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, svc := range s.Services {
			for _, pl := range svc.Placements {
				if svc.Name == "svc-0" && (pl.Error == nil || !strings.Contains(pl.Error.Error, "engine unreachable") || strings.Contains(pl.Error.Error, "no instance running")) {
					t.Errorf("with the Ensure of %s failing, svc-0 shows %+v; want the runtime's error", id, pl.Error)
				}
			}
		}
	}
}

// refusingWrites is the fleet's traffic adapter answering every read and
// refusing every write with err.
type refusingWrites struct {
	*recordingTraffic
	err error
}

func (r refusingWrites) SetSplit(context.Context, adapters.Split) error { return r.err }

// TestRefusedWritesLeaveTheRouterUp: a traffic adapter that answers reads
// and refuses a write (a newer owner's fence, a conflict) is not a failing
// dependency: the placements show the refusal, status lists no dependency,
// and no dependency change is journaled over several passes (noting the
// refusals would have it go down and up on every pass).
func TestRefusedWritesLeaveTheRouterUp(t *testing.T) {
	for _, refusal := range []error{adapters.ErrFenced, adapters.ErrConflict, errors.New("plug-in: backend pool is locked")} {
		ctx := context.Background()
		f := newFleetHarness(t)
		f.revision("c1", "ab")
		f.settle(ctx)
		f.r.targets.traffics[adapterKey(f.target, f.target.Traffic)] = refusingWrites{f.tr, fmt.Errorf("set split: %w", refusal)}
		f.revision("c2", "ba")
		for range 3 {
			f.r.pass(ctx)
		}
		s, err := f.r.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Failing) != 0 {
			t.Errorf("%v: status says failing %+v; want none (the router answers)", refusal, s.Failing)
		}
		refused := 0
		for _, svc := range s.Services {
			for _, pl := range svc.Placements {
				if pl.Error != nil && strings.Contains(pl.Error.Error, refusal.Error()) {
					refused++
				}
			}
		}
		if refused == 0 {
			t.Errorf("%v: no placement shows the refusal", refusal)
		}
		entries, err := f.st.Entries(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Action == api.ActionDependencyDown || e.Action == api.ActionDependencyUp {
				t.Errorf("%v: journaled %s %s", refusal, e.Action, e.Result)
			}
		}
	}
}
