package agent

import (
	"context"
	"fmt"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/agent/wire"
)

// The calls of the API: each builds (or finds) the adapter the request
// names and passes the call to it.

func (a *Agent) ensure(ctx context.Context, req wire.EnsureRequest) (any, error) {
	spec, err := req.Spec.InfraSetSpec()
	if err != nil {
		return nil, err
	}
	rt, err := a.runtime(req.Runtime)
	if err != nil {
		return nil, err
	}
	st, err := rt.Ensure(ctx, spec)
	if err != nil {
		return nil, err
	}
	return wire.FromStatus(st), nil
}

func (a *Agent) observe(ctx context.Context, req wire.ObserveRequest) (any, error) {
	rt, err := a.runtime(req.Runtime)
	if err != nil {
		return nil, err
	}
	sets, err := rt.Observe(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]wire.SetStatus, 0, len(sets))
	for _, s := range sets {
		out = append(out, wire.FromStatus(s))
	}
	return out, nil
}

func (a *Agent) remove(ctx context.Context, req wire.RemoveRequest) (any, error) {
	grace, err := wire.ParseDuration("grace", req.Grace)
	if err != nil {
		return nil, err
	}
	rt, err := a.runtime(req.Runtime)
	if err != nil {
		return nil, err
	}
	return wire.Done{}, rt.Remove(ctx, req.ID, grace)
}

func (a *Agent) setSplit(ctx context.Context, req wire.SetSplitRequest) (any, error) {
	tr, err := a.traffic(req.Traffic)
	if err != nil {
		return nil, err
	}
	return wire.Done{}, tr.SetSplit(ctx, req.Split)
}

func (a *Agent) split(ctx context.Context, req wire.ServiceRequest) (any, error) {
	tr, err := a.traffic(req.Traffic)
	if err != nil {
		return nil, err
	}
	return tr.Split(ctx, req.Service)
}

func (a *Agent) splits(ctx context.Context, req wire.TrafficRequest) (any, error) {
	tr, err := a.traffic(req.Traffic)
	if err != nil {
		return nil, err
	}
	lister, ok := tr.(adapters.SplitLister)
	if !ok {
		return nil, unsupported(req.Traffic, "list its splits: ask split by split")
	}
	return lister.Splits(ctx)
}

func (a *Agent) removeSplit(ctx context.Context, req wire.ServiceRequest) (any, error) {
	tr, err := a.traffic(req.Traffic)
	if err != nil {
		return nil, err
	}
	rm, ok := tr.(adapters.SplitRemover)
	if !ok {
		return nil, unsupported(req.Traffic, "remove a service's split")
	}
	return wire.Done{}, rm.RemoveSplit(ctx, req.Service)
}

func (a *Agent) inFlight(ctx context.Context, req wire.SetRequest) (any, error) {
	tr, err := a.traffic(req.Traffic)
	if err != nil {
		return nil, err
	}
	n, err := tr.InFlight(ctx, req.Service, req.Set)
	return wire.InFlight{Requests: n}, err
}

func (a *Agent) setMetrics(ctx context.Context, req wire.SetRequest) (any, error) {
	tr, err := a.traffic(req.Traffic)
	if err != nil {
		return nil, err
	}
	hs, ok := tr.(adapters.HealthSource)
	if !ok {
		return nil, unsupported(req.Traffic, "report a set's counters")
	}
	return hs.SetMetrics(ctx, req.Service, req.Set)
}

// unsupported is the error of a call the adapter cannot answer: a caller
// asks what it needs another way (reconcile asks split by split when a
// listing is ErrInvalid).
func unsupported(ad wire.Adapter, what string) error {
	return fmt.Errorf("the %s traffic adapter cannot %s: %w", ad.Kind, what, adapters.ErrInvalid)
}

// fence answers the highest token of each of the caller's shards, which
// the fencing check kept before this call ran.
func (a *Agent) fence(ctx context.Context, _ wire.FenceRequest) (any, error) {
	f, ok := ctx.Value(fenceKey{}).([]wire.Fenced)
	if !ok {
		return nil, fmt.Errorf("%s carries no %s: send SHARD TOKEN: %w", wire.PathFence, wire.FenceHeader, adapters.ErrInvalid)
	}
	return f, nil
}
