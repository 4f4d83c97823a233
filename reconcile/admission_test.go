package reconcile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// The journal's copy of an admitted state is the text admission prepared,
// byte for byte what schema.WriteJSON writes; a state not prepared (or a
// copy of one) is written afresh, and one over maxKeptState is not kept.
func TestPreparedStateIsTheJournalsText(t *testing.T) {
	ds, err := schema.Load(examples.Quickstart())
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := schema.WriteJSON(&want, ds); err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{}
	copied := *ds
	if r.states.find(ds) != nil || r.states.find(nil) != nil {
		t.Fatal("a state never prepared is found prepared")
	}
	p, err := r.states.prepare(ds)
	if err != nil || p.Of != ds {
		t.Fatalf("prepare: %v, %v", p, err)
	}
	if again, _ := r.states.prepare(ds); again != p {
		t.Error("the state was prepared again; want the kept one")
	}
	if got := r.stateJSON(ds); !bytes.Equal(got, want.Bytes()) || &got[0] != &p.JSON()[0] {
		t.Errorf("the journal's text is not the prepared one, or differs from WriteJSON's:\n%s\n%s", got, want.Bytes())
	}
	if r.states.find(&copied) != nil {
		t.Error("a copy of a prepared state is found prepared")
	}

	big := &schema.DesiredState{Services: map[string]schema.Service{}}
	for i := range 3000 {
		big.Services[fmt.Sprintf("svc-%04d", i)] = ds.Services[firstService(ds)]
	}
	if p, err := r.states.prepare(big); err != nil || p.Size() <= maxKeptState {
		t.Fatalf("a state of %d bytes (%v); want over %d", p.Size(), err, maxKeptState)
	}
	if r.states.find(big) != nil {
		t.Error("a state over maxKeptState was kept")
	}
	if r.states.find(ds) == nil {
		t.Error("the big state pushed a kept one out")
	}
}

func firstService(ds *schema.DesiredState) string {
	for name := range ds.Services {
		return name
	}
	return ""
}

// A fleet's services are prepared once and reused while they are the
// same: a service changed in any field is prepared again, and every
// prepared part is its service's text.
func TestFleetPartsReusedWhileTheSame(t *testing.T) {
	svc := func(healthy int) policy.FleetService {
		return policy.FleetService{Replicas: 2, KeepWarm: 1, Placements: []policy.FleetPlacement{{Stage: "s", Target: "t", Zone: "z",
			Sets: []policy.FleetSet{{ID: "a", Release: "r", State: api.SetServing, Weight: 100, Healthy: healthy, Desired: 2}}}}}
	}
	var c fleetParts
	first, err := c.prepare(map[string]policy.FleetService{"web": svc(2), "api": svc(2)})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.prepare(map[string]policy.FleetService{"web": svc(2), "api": svc(1)})
	if err != nil {
		t.Fatal(err)
	}
	if second.Services["web"] != first.Services["web"] {
		t.Error("an unchanged service was prepared again")
	}
	if second.Services["api"] == first.Services["api"] || second.Services["api"].Of.Placements[0].Sets[0].Healthy != 1 {
		t.Error("a changed service kept its old prepared part")
	}
	changes := []func(*policy.FleetService){
		func(s *policy.FleetService) { s.Replicas++ },
		func(s *policy.FleetService) { s.KeepWarm++ },
		func(s *policy.FleetService) { s.Placements[0].Zone = "y" },
		func(s *policy.FleetService) { s.Placements[0].InFlight = true },
		func(s *policy.FleetService) { s.Placements[0].Sets[0].State = api.SetWarm },
		func(s *policy.FleetService) {
			s.Placements[0].Sets = append(s.Placements[0].Sets, policy.FleetSet{ID: "b"})
		},
		func(s *policy.FleetService) { s.Placements = append(s.Placements, policy.FleetPlacement{Stage: "s2"}) },
	}
	for i, change := range changes {
		s := svc(2)
		change(&s)
		if sameFleetService(svc(2), s) {
			t.Errorf("change %d: the services are the same", i)
		}
		f, err := c.prepare(map[string]policy.FleetService{"web": s})
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := json.Marshal(s); string(f.Services["web"].JSON()) != string(want) {
			t.Errorf("change %d: prepared as %s; the service is %s", i, f.Services["web"].JSON(), want)
		}
	}
}

// Over generated fleets changed a little between actions (odd strings,
// extreme numbers, sets and placements added and dropped), every service
// of the fleet fleetParts makes is prepared as the service it holds.
func TestFleetPartsAgreeWithTheirServicesGenerated(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	words := []string{"", "web", "api", "\xff", "a\"b", "<tag>", "ünï", strings.Repeat("z", 300)}
	word := func() string { return words[rnd.IntN(len(words))] }
	set := func() policy.FleetSet {
		return policy.FleetSet{ID: word(), Release: word(), State: api.SetState(word()), Weight: rnd.IntN(300) - 100,
			Healthy: rnd.Int() - rnd.Int(), Desired: rnd.IntN(5)}
	}
	services := map[string]policy.FleetService{}
	var c fleetParts
	for i := range 500 {
		name := word()
		svc := services[name]
		switch rnd.IntN(5) {
		case 0:
			svc.Replicas, svc.KeepWarm = rnd.Int()-rnd.Int(), rnd.IntN(3)-1
		case 1:
			svc.Placements = append(slices.Clone(svc.Placements), policy.FleetPlacement{Stage: word(), Target: word(), Zone: word(), InFlight: rnd.IntN(2) == 0})
		case 2:
			if n := len(svc.Placements); n > 0 {
				svc.Placements = slices.Clone(svc.Placements)
				p := &svc.Placements[rnd.IntN(n)]
				p.Sets = append(slices.Clone(p.Sets), set())
			}
		case 3:
			if n := len(svc.Placements); n > 0 {
				svc.Placements = slices.Clone(svc.Placements)
				p := &svc.Placements[rnd.IntN(n)]
				if len(p.Sets) > 0 {
					p.Sets = slices.Clone(p.Sets)
					p.Sets[rnd.IntN(len(p.Sets))].Weight = rnd.IntN(101)
				}
			}
		case 4:
			delete(services, name)
			continue
		}
		services[name] = svc
		f, err := c.prepare(maps.Clone(services))
		if err != nil {
			t.Fatal(err)
		}
		for name, svc := range services {
			want, err := json.Marshal(svc)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Services[name].JSON(); string(got) != string(want) {
				t.Fatalf("step %d: %q prepared as\n%s\nit is\n%s", i, name, got, want)
			}
		}
	}
}
