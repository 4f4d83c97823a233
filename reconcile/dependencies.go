package reconcile

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/reconcile/analysis"
	"github.com/durable-delivery/durable/schema"
)

// related lists the services a service depends on (upstream) and those
// that depend on it (downstream, from dependents: see dependentsOf),
// sorted, each with its direction.
func related(ds *schema.DesiredState, service string, dependents map[string][]string) [][2]string {
	var out [][2]string
	for _, u := range ds.Services[service].DependsOn {
		out = append(out, [2]string{u, "upstream"})
	}
	for _, name := range dependents[service] {
		out = append(out, [2]string{name, "downstream"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// dependentsOf indexes the services that depend on each service of ds.
func dependentsOf(ds *schema.DesiredState) map[string][]string {
	by := map[string][]string{}
	for name, svc := range ds.Services {
		for _, u := range slices.Compact(slices.Sorted(slices.Values(svc.DependsOn))) {
			by[u] = append(by[u], name)
		}
	}
	return by
}

// dependents is dependentsOf the desired state, built once for it: a step
// asks it of every placement, and the fleet may be 10,000 services.
func (r *Reconciler) dependents(ds *schema.DesiredState) map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dependentsFor != ds {
		r.dependentsFor, r.dependentsBy = ds, dependentsOf(ds)
	}
	return r.dependentsBy
}

// dependencyWait says why a placement must wait before making a new
// infra-set: an upstream of the service is rolling out in the same stage
// (upstreams go first). "" means go.
func (r *Reconciler) dependencyWait(ctx context.Context, p placement) (string, error) {
	r.mu.Lock()
	ds := r.desired
	r.mu.Unlock()
	if ds == nil || len(ds.Services[p.service.Name].DependsOn) == 0 {
		return "", nil
	}
	for _, upstream := range ds.Services[p.service.Name].DependsOn {
		sets, err := r.store.ServiceInfraSets(ctx, upstream)
		if err != nil {
			return "", err
		}
		for _, s := range sets {
			if s.Stage != p.stage {
				continue
			}
			switch s.State {
			case api.SetCreating, api.SetReady, api.SetCanary:
				return fmt.Sprintf("upstream %s is rolling out in stage %s (%s is %s): %s waits, upstreams go first",
					s.Service, p.stage, s.ID, s.State, p.service.Name), nil
			}
		}
	}
	return "", nil
}

// relatedSets are the serving sets, on the placement's target, of the
// services related to the placement's (see related).
func (r *Reconciler) relatedSets(ctx context.Context, p placement) ([]journal.InfraSet, []string, error) {
	r.mu.Lock()
	ds := r.desired
	r.mu.Unlock()
	if ds == nil {
		return nil, nil, nil
	}
	rel := related(ds, p.service.Name, r.dependents(ds))
	if len(rel) == 0 {
		return nil, nil, nil
	}
	var out []journal.InfraSet
	var dirs []string
	for _, x := range rel {
		sets, err := r.store.ServiceInfraSets(ctx, x[0])
		if err != nil {
			return nil, nil, err
		}
		for _, s := range sets {
			if s.Stage == p.stage && s.Target == p.target.Name && s.State == api.SetServing {
				out = append(out, s)
				dirs = append(dirs, x[1])
			}
		}
	}
	return out, dirs, nil
}

// relatedSignals judges the health of the related services during a step:
// one that fails significantly more than maxErrorRate since the step
// started fails the step, whichever side of the canary it is on.
func (r *Reconciler) relatedSignals(ctx context.Context, p placement, ro journal.Rollout) []policy.Signal {
	sets, dirs, err := r.relatedSets(ctx, p)
	if err != nil || len(sets) == 0 {
		return nil
	}
	hs, ok := r.healthSource(p)
	if !ok {
		return nil
	}
	a := p.service.Strategy.StepAnalysis(ro.Step - 1)
	var out []policy.Signal
	for i, s := range sets {
		m, err := r.setMetrics(ctx, hs, s.Service, s.ID)
		if err != nil {
			continue
		}
		base, ok := ro.StepBase[s.ID]
		if !ok {
			continue // not serving when the step started: no baseline to judge from
		}
		d := analysis.Since(analysis.CountersOf(m), base)
		out = append(out, analysis.ErrorRate(dirs[i]+" "+s.Service+" error-rate", *a, d))
	}
	return out
}
