package reconcile

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// policyZones is cited when a placement waits for other zones.
const policyZones = "builtin/zones"

// zoneWait says why a placement must wait before making a new infra-set:
// within a stage, at most the stage's parallelism of zones roll a service
// out at once (one by default). A zone is rolling out while it has a new set
// coming up: creating, ready or at a canary step. "" means go.
func (r *Reconciler) zoneWait(ctx context.Context, p placement) (string, error) {
	r.mu.Lock()
	ds := r.desired
	r.mu.Unlock()
	if ds == nil {
		return "", nil
	}
	parallelism := 1
	for _, s := range ds.Pipeline.Stages {
		if s.Name == p.stage && s.Parallelism > 0 {
			parallelism = s.Parallelism
		}
	}
	sets, err := r.store.ServiceInfraSets(ctx, p.service.Name)
	if err != nil {
		return "", err
	}
	busy := map[string]bool{}
	for _, s := range sets {
		if s.Stage != p.stage || s.Target == p.target.Name {
			continue
		}
		switch s.State {
		case api.SetCreating, api.SetReady, api.SetCanary:
			if zone := ds.Targets[s.Target].Zone; zone != p.target.Zone {
				busy[zone] = true
			}
		}
	}
	if len(busy) < parallelism {
		return "", nil
	}
	zones := make([]string, 0, len(busy))
	for z := range busy {
		zones = append(zones, z)
	}
	sort.Strings(zones)
	return fmt.Sprintf("zone(s) %s of stage %s are rolling %s out (parallelism %d): zone %s waits its turn",
		strings.Join(zones, ", "), p.stage, p.service.Name, parallelism, p.target.Zone), nil
}

// noteWait journals, once, why a rollout waits, and shows it on the rollout.
func (r *Reconciler) noteWait(ctx context.Context, p placement, ro *journal.Rollout, why string) {
	e := p.entry(ro.Set, ro.Release)
	e.Kind, e.Policy, e.Result, e.Message, e.Reasons = api.EntryDecision, policyZones, "hold", why, []string{why}
	if _, journaled := r.verdictOnce(ctx, "zones/"+ro.ID, e); journaled {
		ro.Message = why
		if err := r.store.PutRollout(ctx, *ro); err != nil {
			r.log.Error("journal rollout", "err", err)
		}
	}
}
