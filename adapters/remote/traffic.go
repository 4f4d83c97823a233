package remote

import (
	"context"
	"encoding/json"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/agent/wire"
)

// Can is what a traffic adapter can do beyond adapters.Traffic: list every
// split (adapters.SplitLister), remove one (adapters.SplitRemover), count
// per set (adapters.HealthSource). A remote traffic adapter has the
// optional interfaces its kind has on the agent's host, so that a caller's
// type assertions answer as they would locally.
type Can struct {
	List, Remove, Count bool
}

// trafficKinds is what each traffic adapter of Durable can do, as its
// package declares (a test holds this table to the adapters); a kind not
// listed is a plain adapters.Traffic.
var trafficKinds = map[string]Can{
	"router":  {List: true, Remove: true, Count: true},
	"haproxy": {Count: true},
}

// Traffic is the traffic adapter of kind, configured with config, on the
// agent's host ("router" with {"admin": "edge"}, say: a name of the agent's
// host file). It is an adapters.HealthSource, SplitLister and SplitRemover
// when the adapter of kind is.
func (a *Agent) Traffic(kind string, config json.RawMessage) adapters.Traffic {
	t := &traffic{agent: a, adapter: wire.Adapter{Kind: kind, Config: config}}
	switch can := trafficKinds[kind]; {
	case can.List && can.Remove && can.Count:
		return routing{counting{t}}
	case can.Count:
		return counting{t}
	}
	return t
}

// traffic is a plain traffic adapter of the agent's host.
type traffic struct {
	agent   *Agent
	adapter wire.Adapter
}

// counting is a traffic adapter that counts per set.
type counting struct{ *traffic }

// routing counts per set, lists and removes splits.
type routing struct{ counting }

var (
	_ adapters.Traffic      = (*traffic)(nil)
	_ adapters.HealthSource = counting{}
	_ adapters.SplitLister  = routing{}
	_ adapters.SplitRemover = routing{}
)

// SetSplit replaces the service's split on the agent's host.
func (t *traffic) SetSplit(ctx context.Context, split adapters.Split) error {
	return t.agent.call(ctx, wire.PathSetSplit, wire.SetSplitRequest{Traffic: t.adapter, Split: split}, nil)
}

// Split reports the split really applied there.
func (t *traffic) Split(ctx context.Context, service string) (adapters.Split, error) {
	var s adapters.Split
	err := t.agent.call(ctx, wire.PathSplit, wire.ServiceRequest{Traffic: t.adapter, Service: service}, &s)
	return s, err
}

// InFlight reports a set's requests in flight there.
func (t *traffic) InFlight(ctx context.Context, service, set string) (int, error) {
	var n wire.InFlight
	err := t.agent.call(ctx, wire.PathInFlight, wire.SetRequest{Traffic: t.adapter, Service: service, Set: set}, &n)
	return n.Requests, err
}

// SetMetrics reports a set's counters there.
func (t counting) SetMetrics(ctx context.Context, service, set string) (adapters.SetMetrics, error) {
	var m adapters.SetMetrics
	err := t.agent.call(ctx, wire.PathSetMetrics, wire.SetRequest{Traffic: t.adapter, Service: service, Set: set}, &m)
	return m, err
}

// Splits reports every split applied there.
func (t routing) Splits(ctx context.Context) ([]adapters.Split, error) {
	var all []adapters.Split
	err := t.agent.call(ctx, wire.PathSplits, wire.TrafficRequest{Traffic: t.adapter}, &all)
	return all, err
}

// RemoveSplit stops routing the service there.
func (t routing) RemoveSplit(ctx context.Context, service string) error {
	return t.agent.call(ctx, wire.PathRemoveSplit, wire.ServiceRequest{Traffic: t.adapter, Service: service}, nil)
}
