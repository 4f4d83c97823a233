package reconcile

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/durable-delivery/durable/adapters"
)

// TestSkippingCleanPlacementsAgreesWithAFullPass generates sequences of
// what the loop's shortcut must notice — splits changed by hand to odd,
// hostile or unknown backends, splits removed, instances dead, sets gone,
// revisions — and after the loop has settled with clean placements skipped,
// forces a full pass over every placement: it must find nothing to change,
// so the shortcut left the targets as the full path would. Half the seeds
// run on a traffic adapter that lists every split in one call.
func TestSkippingCleanPlacementsAgreesWithAFullPass(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(seed, 13))
			f := newFleetHarness(t)
			if seed%2 == 1 {
				f.listSplits() // the pass reads every split in one call
			}
			digits := []byte("abcd")
			f.revision("c0", string(digits))
			f.settle(ctx)
			for step := range 4 {
				what := perturb(ctx, f, rng, digits, step)
				f.settle(ctx)
				f.r.pass(ctx) // a placement acted on is confirmed, then clean
				splits, sets := fleetState(f)
				f.tr.calls()
				f.r.work.keys = nil // the full path: every placement converged
				f.r.pass(ctx)
				if got := f.tr.calls(); len(got) != 0 {
					t.Fatalf("after %s, the full pass set the splits of %v: the shortcut had left them wrong", what, got)
				}
				if s2, i2 := fleetState(f); !reflect.DeepEqual(splits, s2) || !reflect.DeepEqual(sets, i2) {
					t.Fatalf("after %s, the full pass changed the fleet:\nsplits %v\n    -> %v\nsets %v\n  -> %v", what, splits, s2, sets, i2)
				}
			}
		})
	}
}

// perturb does one generated thing to the fleet and says what.
func perturb(ctx context.Context, f *fleetHarness, rng *rand.Rand, digits []byte, step int) string {
	svc := fmt.Sprintf("svc-%d", rng.IntN(len(digits)))
	switch rng.IntN(5) {
	case 0:
		split, _ := f.tr.Split(ctx, svc)
		if len(split.Backends) > 0 {
			split.Backends[0].Weight = []int{0, 1, 50, 99, -5, 1 << 20}[rng.IntN(6)]
		}
		_ = f.tr.fakeTraffic.SetSplit(ctx, split)
		return "a hand-changed weight on " + svc
	case 1:
		split, _ := f.tr.Split(ctx, svc)
		split.Backends = append(split.Backends, adapters.Backend{Set: "intruder", Weight: 100, Endpoints: []string{"127.0.0.1:9"}})
		_ = f.tr.fakeTraffic.SetSplit(ctx, split)
		return "an unknown backend on " + svc
	case 2:
		f.tr.fakeTraffic.mu.Lock()
		delete(f.tr.fakeTraffic.splits, svc)
		f.tr.fakeTraffic.mu.Unlock()
		return "the split of " + svc + " removed"
	case 3:
		f.rt.fakeRuntime.mu.Lock()
		id := f.set(svc)
		if ins := f.rt.fakeRuntime.sets[id]; len(ins) > 0 {
			f.rt.fakeRuntime.sets[id] = ins[:rng.IntN(len(ins))]
		}
		f.rt.fakeRuntime.mu.Unlock()
		return "instances of " + svc + " dead"
	default:
		i := rng.IntN(len(digits))
		digits[i] = "abcdef"[rng.IntN(6)]
		f.revision(fmt.Sprintf("c%d", step+1), string(digits))
		return "revision " + string(digits)
	}
}

// fleetState is every split and every set's instance count.
func fleetState(f *fleetHarness) (map[string]adapters.Split, map[string]int) {
	f.tr.fakeTraffic.mu.Lock()
	splits := maps.Clone(f.tr.fakeTraffic.splits)
	f.tr.fakeTraffic.mu.Unlock()
	f.rt.fakeRuntime.mu.Lock()
	defer f.rt.fakeRuntime.mu.Unlock()
	sets := map[string]int{}
	for id, ins := range f.rt.fakeRuntime.sets {
		sets[id] = len(ins)
	}
	return splits, sets
}
