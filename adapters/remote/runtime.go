package remote

import (
	"context"
	"encoding/json"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/agent/wire"
)

// Runtime is a runtime adapter of the agent's host.
type Runtime struct {
	agent   *Agent
	adapter wire.Adapter
}

var _ adapters.Runtime = (*Runtime)(nil)

// Runtime is the runtime adapter of kind, configured with config, on the
// agent's host ("process", say).
func (a *Agent) Runtime(kind string, config json.RawMessage) *Runtime {
	return &Runtime{agent: a, adapter: wire.Adapter{Kind: kind, Config: config}}
}

// Ensure makes the set run on the agent's host.
func (r *Runtime) Ensure(ctx context.Context, spec adapters.InfraSetSpec) (adapters.InfraSetStatus, error) {
	var st wire.SetStatus
	err := r.agent.call(ctx, wire.PathEnsure, wire.EnsureRequest{Runtime: r.adapter, Spec: wire.FromSpec(spec)}, &st)
	if err != nil {
		return adapters.InfraSetStatus{ID: spec.ID, Service: spec.Service, Release: spec.Release}, err
	}
	return st.InfraSetStatus(), nil
}

// Observe lists the sets the agent's runtime really runs.
func (r *Runtime) Observe(ctx context.Context) ([]adapters.InfraSetStatus, error) {
	var sets []wire.SetStatus
	if err := r.agent.call(ctx, wire.PathObserve, wire.ObserveRequest{Runtime: r.adapter}, &sets); err != nil {
		return nil, err
	}
	out := make([]adapters.InfraSetStatus, 0, len(sets))
	for _, s := range sets {
		out = append(out, s.InfraSetStatus())
	}
	return out, nil
}

// Remove stops the set on the agent's host.
func (r *Runtime) Remove(ctx context.Context, id string, grace time.Duration) error {
	return r.agent.call(ctx, wire.PathRemove, wire.RemoveRequest{Runtime: r.adapter, ID: id, Grace: grace.String()}, nil)
}
