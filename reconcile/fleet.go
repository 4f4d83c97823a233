package reconcile

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// fleet builds the invariant's view of every service on every target from
// the journal, with the health the last pass observed and the weights the
// set states imply (serving 100, every other set 0).
func (r *Reconciler) fleet(ctx context.Context, ds *schema.DesiredState) (policy.Fleet, error) {
	services := map[string]policy.FleetService{}
	v, err := r.view(ctx)
	if err != nil {
		return policy.Fleet{}, err
	}
	inFlight := map[[3]string]bool{}
	for _, ro := range v.rollouts {
		if !ro.Done() {
			inFlight[[3]string{ro.Service, ro.Stage, ro.Target}] = true
		}
	}
	r.mu.Lock()
	healthy := maps.Clone(r.healthy)
	r.mu.Unlock()

	index := map[[3]string]int{}
	for _, s := range v.sets {
		if s.State == api.SetRemoved {
			continue
		}
		fs := services[s.Service]
		if svc, ok := ds.Services[s.Service]; ok {
			fs.Replicas, fs.KeepWarm = svc.Run.Replicas, svc.Strategy.KeepWarm
		}
		key := [3]string{s.Service, s.Stage, s.Target}
		i, ok := index[key]
		if !ok {
			i = len(fs.Placements)
			index[key] = i
			fs.Placements = append(fs.Placements, policy.FleetPlacement{Stage: s.Stage, Target: s.Target,
				Zone: ds.Targets[s.Target].Zone, InFlight: inFlight[key], Sets: []policy.FleetSet{}})
		}
		weight := 0
		switch s.State {
		case api.SetServing:
			weight = 100 // less the canaries, below
		case api.SetCanary:
			weight = s.Weight
		}
		fs.Placements[i].Sets = append(fs.Placements[i].Sets, policy.FleetSet{ID: s.ID, Release: s.Release, State: s.State,
			Weight: weight, Healthy: healthy[s.ID], Desired: r.replicasOf(ctx, s.Release)})
		services[s.Service] = fs
	}
	for _, fs := range services {
		for _, pl := range fs.Placements {
			canary := 0
			for _, s := range pl.Sets {
				if s.State == api.SetCanary {
					canary += s.Weight
				}
			}
			for i := range pl.Sets {
				if pl.Sets[i].State == api.SetServing {
					pl.Sets[i].Weight -= canary
				}
			}
		}
	}
	return r.fleetParts.prepare(services)
}

// fleetParts are the services of the last fleet built, prepared: between
// two actions most services are as they were, and their text and value
// are reused rather than made again for every decision.
type fleetParts struct {
	mu   sync.Mutex
	last map[string]*policy.Prepared[policy.FleetService]
}

// prepare is the fleet of services, each prepared or reused when it is
// the same as in the last fleet.
func (c *fleetParts) prepare(services map[string]policy.FleetService) (policy.Fleet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := policy.Fleet{Services: make(map[string]*policy.Prepared[policy.FleetService], len(services))}
	for name, svc := range services {
		if p, ok := c.last[name]; ok && sameFleetService(*p.Of, svc) {
			f.Services[name] = p
			continue
		}
		p, err := policy.Prepare(&svc)
		if err != nil {
			return policy.Fleet{}, err
		}
		f.Services[name] = p
	}
	c.last = f.Services
	return f, nil
}

func sameFleetService(a, b policy.FleetService) bool {
	return a.Replicas == b.Replicas && a.KeepWarm == b.KeepWarm &&
		slices.EqualFunc(a.Placements, b.Placements, func(x, y policy.FleetPlacement) bool {
			return x.Stage == y.Stage && x.Target == y.Target && x.Zone == y.Zone && x.InFlight == y.InFlight && slices.Equal(x.Sets, y.Sets)
		})
}

// replicasOf is the desired instance count of a journaled release,
// remembered: a release's content never changes under its id (a digest
// of it), and every decision's fleet asks it of every live set.
func (r *Reconciler) replicasOf(ctx context.Context, release string) int {
	r.mu.Lock()
	n, ok := r.replicas[release]
	r.mu.Unlock()
	if ok {
		return n
	}
	svc, err := r.serviceOf(ctx, release)
	if err != nil {
		return 0 // asked again next time
	}
	r.mu.Lock()
	if r.replicas == nil {
		r.replicas = map[string]int{}
	}
	r.replicas[release] = svc.Run.Replicas
	r.mu.Unlock()
	return svc.Run.Replicas
}

// after applies an action to a copy of the fleet. A set's desired stays its
// release's replicas whatever it runs: healthy says what it runs.
func after(before policy.Fleet, a policy.Action, zone string) (policy.Fleet, error) {
	f := policy.Fleet{Services: maps.Clone(before.Services)}
	if f.Services == nil {
		f.Services = map[string]*policy.Prepared[policy.FleetService]{}
	}
	var svc policy.FleetService
	if was, ok := before.Services[a.Service]; ok {
		svc = *was.Of
	}
	svc.Placements = slices.Clone(svc.Placements)
	for i := range svc.Placements {
		svc.Placements[i].Sets = slices.Clone(svc.Placements[i].Sets)
	}
	pi := -1
	for i, p := range svc.Placements {
		if p.Stage == a.Stage && p.Target == a.Target {
			pi = i
		}
	}
	if pi < 0 {
		svc.Placements = append(svc.Placements, policy.FleetPlacement{Stage: a.Stage, Target: a.Target, Zone: zone, Sets: []policy.FleetSet{}})
		pi = len(svc.Placements) - 1
	}
	p := &svc.Placements[pi]
	switch a.Kind {
	case api.ActionCreateSet:
		p.InFlight = true
		p.Sets = append(p.Sets, policy.FleetSet{ID: a.Set, Release: a.Release, State: api.SetCreating})
	case api.ActionSetSplit:
		for i := range p.Sets {
			s := &p.Sets[i]
			s.Weight = a.Weights[s.ID]
			switch {
			case s.Weight == 100:
				s.State = api.SetServing
			case s.Weight > 0 && s.ID == a.Set && s.State != api.SetServing:
				s.State = api.SetCanary
			case s.Weight == 0 && s.State == api.SetServing:
				s.State = api.SetWarm
			case s.Weight == 0 && s.State == api.SetCanary:
				s.State = api.SetFailed
			}
		}
	case api.ActionScaleSet:
		// A warm set's instance count changes (warmMode minimal): for a
		// rollback its other instances start (healthy later); otherwise it
		// keeps one.
		if a.Rollback {
			p.InFlight = true
			break
		}
		for i := range p.Sets {
			if p.Sets[i].ID == a.Set {
				p.Sets[i].Healthy = min(p.Sets[i].Healthy, 1)
			}
		}
	case api.ActionRemoveSet:
		kept := p.Sets[:0]
		for _, s := range p.Sets {
			if s.ID != a.Set {
				kept = append(kept, s)
			}
		}
		p.Sets = kept
	}
	prepared, err := policy.Prepare(&svc)
	if err != nil {
		return policy.Fleet{}, err
	}
	f.Services[a.Service] = prepared
	return f, nil
}
