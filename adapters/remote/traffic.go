package remote

import (
	"context"
	"encoding/json"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/agent/wire"
)

// Traffic is a traffic adapter of the agent's host, and its health source.
// What the adapter there cannot do (an HAProxy lists no splits) is
// adapters.ErrInvalid.
type Traffic struct {
	agent   *Agent
	adapter wire.Adapter
}

var (
	_ adapters.Traffic      = (*Traffic)(nil)
	_ adapters.SplitLister  = (*Traffic)(nil)
	_ adapters.SplitRemover = (*Traffic)(nil)
	_ adapters.HealthSource = (*Traffic)(nil)
)

// Traffic is the traffic adapter of kind, configured with config, on the
// agent's host ("router" with {"admin": "edge"}, say: a name of the
// agent's host file).
func (a *Agent) Traffic(kind string, config json.RawMessage) *Traffic {
	return &Traffic{agent: a, adapter: wire.Adapter{Kind: kind, Config: config}}
}

// SetSplit replaces the service's split on the agent's host.
func (t *Traffic) SetSplit(ctx context.Context, split adapters.Split) error {
	return t.agent.call(ctx, wire.PathSetSplit, wire.SetSplitRequest{Traffic: t.adapter, Split: split}, nil)
}

// Split reports the split really applied there.
func (t *Traffic) Split(ctx context.Context, service string) (adapters.Split, error) {
	var s adapters.Split
	err := t.agent.call(ctx, wire.PathSplit, wire.ServiceRequest{Traffic: t.adapter, Service: service}, &s)
	return s, err
}

// Splits reports every split applied there.
func (t *Traffic) Splits(ctx context.Context) ([]adapters.Split, error) {
	var all []adapters.Split
	err := t.agent.call(ctx, wire.PathSplits, wire.TrafficRequest{Traffic: t.adapter}, &all)
	return all, err
}

// RemoveSplit stops routing the service there.
func (t *Traffic) RemoveSplit(ctx context.Context, service string) error {
	return t.agent.call(ctx, wire.PathRemoveSplit, wire.ServiceRequest{Traffic: t.adapter, Service: service}, nil)
}

// InFlight reports a set's requests in flight there.
func (t *Traffic) InFlight(ctx context.Context, service, set string) (int, error) {
	var n wire.InFlight
	err := t.agent.call(ctx, wire.PathInFlight, wire.SetRequest{Traffic: t.adapter, Service: service, Set: set}, &n)
	return n.Requests, err
}

// SetMetrics reports a set's counters there.
func (t *Traffic) SetMetrics(ctx context.Context, service, set string) (adapters.SetMetrics, error) {
	var m adapters.SetMetrics
	err := t.agent.call(ctx, wire.PathSetMetrics, wire.SetRequest{Traffic: t.adapter, Service: service, Set: set}, &m)
	return m, err
}
