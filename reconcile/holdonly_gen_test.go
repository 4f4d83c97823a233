package reconcile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// holdOnlyByEncoding is holdOnly as it was before its shortcut: both states
// encoded without holds and compared, whatever the holds.
func holdOnlyByEncoding(prev journal.Revision, old *schema.DesiredState, next journal.Revision, ds *schema.DesiredState) bool {
	if old == nil || prev.Commit == "" || !maps.Equal(prev.Policies, next.Policies) || !bytes.Equal(prev.Approvals, next.Approvals) {
		return false
	}
	held := func(ds *schema.DesiredState) map[string]bool {
		out := map[string]bool{}
		for name, svc := range ds.Services {
			out[name] = svc.Hold
		}
		return out
	}
	a, errA := json.Marshal(withoutHolds(*old))
	b, errB := json.Marshal(withoutHolds(*ds))
	return errA == nil && errB == nil && bytes.Equal(a, b) && !maps.Equal(held(old), held(ds))
}

// TestHoldOnlyAgreesWithEncoding: holdOnly, which compares the states only
// when a hold changed, gives the verdict of comparing them always, on
// generated pairs of states: services added, removed and renamed, holds,
// artifacts and replicas changed, names with quotes and control bytes,
// empty and nil states, policies and approvals changed.
func TestHoldOnlyAgreesWithEncoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 16))
	names := []string{"web", "api", "q\"uote", "nl\nx", "ünï", ""}
	gen := func() *schema.DesiredState {
		if rng.IntN(10) == 0 {
			return nil
		}
		ds := &schema.DesiredState{Services: map[string]schema.Service{}}
		for range rng.IntN(4) {
			n := names[rng.IntN(len(names))]
			svc := schema.Service{Name: n, Artifact: fmt.Sprint("a", rng.IntN(2)), Hold: rng.IntN(2) == 0}
			svc.Run.Replicas = rng.IntN(2)
			ds.Services[n] = svc
		}
		return ds
	}
	mutate := func(ds *schema.DesiredState) *schema.DesiredState {
		if ds == nil || rng.IntN(4) == 0 {
			return gen()
		}
		out := &schema.DesiredState{Services: maps.Clone(ds.Services)}
		for n, svc := range out.Services {
			switch rng.IntN(4) {
			case 0:
				svc.Hold = !svc.Hold
			case 1:
				svc.Artifact += "x"
			}
			out.Services[n] = svc
		}
		return out
	}
	pols := []map[string]string{nil, {"p.rego": "package x"}}
	apps := [][]byte{nil, []byte(`["a"]`)}
	agreed, holds := 0, 0
	for i := range 20000 {
		old := gen()
		ds := mutate(old)
		if ds == nil {
			ds = &schema.DesiredState{}
		}
		prev := journal.Revision{Commit: []string{"", "c1"}[rng.IntN(2)], Policies: pols[rng.IntN(2)], Approvals: apps[rng.IntN(2)]}
		next := journal.Revision{Commit: "c2", Policies: pols[rng.IntN(2)], Approvals: apps[rng.IntN(2)]}
		got, want := holdOnly(prev, old, next, ds), holdOnlyByEncoding(prev, old, next, ds)
		if got != want {
			t.Fatalf("case %d: holdOnly %v, by encoding %v\nold %+v\nnew %+v", i, got, want, old, ds)
		}
		agreed++
		if want {
			holds++
		}
	}
	if holds == 0 || holds == agreed {
		t.Fatalf("%d of %d cases were hold-only: the generator does not cover both verdicts", holds, agreed)
	}
}
