package reconcile

import (
	"context"
	"errors"
	"fmt"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// policyPreview is cited by the preview route's actions.
const policyPreview = "builtin/preview"

// previewName is the service name of a service's preview route.
func previewName(service string) string { return service + "-preview" }

// ensurePreview routes a healthy new set alone as "<service>-preview", so
// that people (and checks) can try it before the blue/green switch, which
// the gate policy may hold until they did.
func (ro *rollout) ensurePreview(ctx context.Context, set journal.InfraSet, st adapters.InfraSetStatus) error {
	r, p, tr := ro.r, ro.p, ro.tr
	want := adapters.Split{Service: previewName(p.service.Name),
		Backends: []adapters.Backend{{Set: set.ID, Release: set.Release, Weight: 100, Endpoints: routableEndpoints(st)}}}
	if have, err := r.splitOf(ctx, p.target, tr, want.Service); err == nil && sameSplit(have, want) {
		return nil
	}
	why := fmt.Sprintf("preview: route %s alone as %s until the switch", set.ID, want.Service)
	return r.act(ctx, p.entry(set.ID, set.Release), action{kind: api.ActionSetSplit, rule: policyPreview, why: why, detail: want}, func() error { return r.setSplit(ctx, p.target, tr, want) })
}

// dropPreview stops routing the preview once no rollout is in flight on the
// placement (switched, failed or abandoned).
func (ro *rollout) dropPreview(ctx context.Context) error {
	r, p := ro.r, ro.p
	rm, ok := ro.tr.(adapters.SplitRemover)
	if !ok {
		return nil
	}
	name := previewName(p.service.Name)
	if _, err := r.splitOf(ctx, p.target, ro.tr, name); errors.Is(err, adapters.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if ro, ok := r.rolloutOn(ctx, p); !ok || ro != nil {
		return nil // in flight, or the journal cannot say: keep it
	}
	rctx, cancel := context.WithTimeout(ctx, trafficTimeout)
	defer cancel()
	if err := rm.RemoveSplit(rctx, name); err != nil {
		return fmt.Errorf("remove the preview route %s: %w", name, err)
	}
	r.journal(ctx, journal.Entry{Kind: api.EntryEvent, Service: p.service.Name, Stage: p.stage, Target: p.target.Name,
		Message: "preview route " + name + " removed: no rollout in flight"})
	return nil
}
