package reconcile

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/durable-delivery/durable/schema"
)

// TestChangedFromTheDiffAgrees: over generated desired states (settings
// changed, nil or empty, services added and removed, states equal), the
// services a pass puts first are those changed from the state the last
// pass saw: taken from the admission's diff when it was taken from that
// state, and diffed again when the admission's was from a later one (two
// revisions with no pass between).
func TestChangedFromTheDiffAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	mutations := []func(*schema.Service){
		func(s *schema.Service) { s.Run.Replicas = rng.IntN(3) },
		func(s *schema.Service) { s.Run.Env = []map[string]string{nil, {}, {"K": "a"}, {"K": "b"}}[rng.IntN(4)] },
		func(s *schema.Service) { s.DependsOn = [][]string{nil, {}, {"svc-1"}}[rng.IntN(3)] },
		func(s *schema.Service) { s.Hold = rng.IntN(2) == 0 },
		func(s *schema.Service) { s.Strategy.KeepWarm = rng.IntN(3) },
		func(s *schema.Service) { s.SecretsDigest = []string{"", "x", "y"}[rng.IntN(3)] },
	}
	state := func(from *schema.DesiredState) *schema.DesiredState {
		ds := &schema.DesiredState{Services: map[string]schema.Service{}}
		for i := range 8 {
			name := fmt.Sprintf("svc-%d", i)
			svc, ok := schema.Service{Name: name, Artifact: "r/" + name}, true
			if from != nil {
				svc, ok = from.Services[name]
			}
			if rng.IntN(10) == 0 {
				ok = !ok // added or removed
				svc = schema.Service{Name: name, Artifact: "r/" + name}
			}
			for range rng.IntN(3) {
				mutations[rng.IntN(len(mutations))](&svc)
			}
			if ok {
				ds.Services[name] = svc
			}
		}
		return ds
	}
	for i := range 2000 {
		old := state(nil)
		mid := old
		if rng.IntN(3) > 0 {
			mid = state(old)
		}
		next := mid
		if rng.IntN(5) > 0 {
			next = state(mid)
		}
		seen := []*schema.DesiredState{old, mid}[rng.IntN(2)] // what the last pass saw
		var w work
		w.changed(seen)
		w.noteDiff(mid, next, schema.Diff(mid, next))
		want := diffOf(seen, next, schema.Diff(seen, next)).services
		if next == seen {
			want = nil // nothing new since that pass
		}
		if got := w.changed(next); !slices.Equal(got, want) {
			t.Fatalf("case %d: first %v, want the services changed since the state the last pass saw, %v", i, got, want)
		}
	}
}
