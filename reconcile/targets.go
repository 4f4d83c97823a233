package reconcile

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/remote"
	"github.com/durable-delivery/durable/schema"
)

// Fleet is what the reconciler presents to the agents of a fleet's hosts
// (durable run --fleet-ca, --fleet-cert, --fleet-key): the CA their
// certificates chain to, and its own client certificate and key. Empty,
// a target that names a host is refused.
type Fleet struct {
	CA, Cert, Key string
	// Fences are this reconciler's fencing tokens, one per shard it owns,
	// sent with every call to an agent (and to every agent of the
	// inventory when the term starts): an agent that saw a later owner's
	// token of one of the shards refuses this term's actions.
	Fences []remote.Fence
}

// targetSet builds each target's adapters once and reuses them while the
// target's adapter configuration is unchanged. An adapter no target uses any
// more is closed (when it is an io.Closer) and forgotten: a traffic adapter at
// once, a runtime once it runs nothing, so that its orphans are collected
// first.
type targetSet struct {
	host  adapters.Host
	fleet Fleet

	mu sync.Mutex
	// hosts is the desired state's inventory, as retain last saw it;
	// agents the connections to its hosts, by name and address.
	hosts    map[string]schema.Host
	agents   map[string]*remote.Agent
	runtimes map[string]adapters.Runtime
	traffics map[string]adapters.Traffic
	// inUse are the adapter keys the desired state's targets use; nil
	// until retain is first called.
	inUse map[string]bool
	// fenced is whether this term's token went to the inventory's agents.
	fenced bool
}

func newTargetSet(host adapters.Host, fleet Fleet) *targetSet {
	return &targetSet{host: host, fleet: fleet, agents: map[string]*remote.Agent{},
		runtimes: map[string]adapters.Runtime{}, traffics: map[string]adapters.Traffic{}}
}

// adapterKey names an adapter of a target: its host (none: the
// reconciler's), its kind and its configuration.
func adapterKey(target schema.Target, a schema.Adapter) string {
	return target.Host + "\x00" + a.Kind + "\x00" + string(a.Config)
}

func (t *targetSet) runtime(target schema.Target) (adapters.Runtime, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := adapterKey(target, target.Runtime)
	if rt, ok := t.runtimes[key]; ok {
		return rt, nil
	}
	var rt adapters.Runtime
	agent, err := t.agent(target)
	switch {
	case err != nil:
	case agent != nil:
		rt = agent.Runtime(target.Runtime.Kind, target.Runtime.Config)
	default:
		rt, err = adapters.NewRuntime(target.Runtime.Kind, target.Runtime.Config, t.host)
	}
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", target.Name, err)
	}
	t.runtimes[key] = rt
	return rt, nil
}

func (t *targetSet) traffic(target schema.Target) (adapters.Traffic, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := adapterKey(target, target.Traffic)
	if tr, ok := t.traffics[key]; ok {
		return tr, nil
	}
	var tr adapters.Traffic
	agent, err := t.agent(target)
	switch {
	case err != nil:
	case agent != nil:
		tr = agent.Traffic(target.Traffic.Kind, target.Traffic.Config)
	default:
		tr, err = adapters.NewTraffic(target.Traffic.Kind, target.Traffic.Config, t.host)
	}
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", target.Name, err)
	}
	t.traffics[key] = tr
	return tr, nil
}

// agent returns the connection to the agent of target's host, or nil for
// a target on the reconciler's own host. Callers hold t.mu.
func (t *targetSet) agent(target schema.Target) (*remote.Agent, error) {
	if target.Host == "" {
		return nil, nil
	}
	h, ok := t.hosts[target.Host]
	if !ok {
		return nil, fmt.Errorf("host %s is not in the inventory: %w", target.Host, adapters.ErrInvalid)
	}
	if t.fleet.CA == "" {
		return nil, fmt.Errorf("host %s: this reconciler has no certificate for the fleet's agents; start it with --fleet-ca, --fleet-cert and --fleet-key: %w", target.Host, adapters.ErrInvalid)
	}
	key := h.Name + "@" + h.Address
	if a, ok := t.agents[key]; ok {
		return a, nil
	}
	a, err := remote.New(remote.Config{Address: h.Address, Host: h.Name, CA: t.fleet.CA, Cert: t.fleet.Cert, Key: t.fleet.Key, Fences: t.fleet.Fences})
	if err != nil {
		return nil, err
	}
	t.agents[key] = a
	return a, nil
}

// builtRuntime is a runtime adapter built so far; retired when no target of
// the desired state uses it any more.
type builtRuntime struct {
	key     string
	rt      adapters.Runtime
	retired bool
}

// allRuntimes lists the runtime adapters built so far.
func (t *targetSet) allRuntimes() []builtRuntime {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]builtRuntime, 0, len(t.runtimes))
	for key, rt := range t.runtimes {
		out = append(out, builtRuntime{key: key, rt: rt, retired: t.inUse != nil && !t.inUse[key]})
	}
	return out
}

// retain records which adapters the desired state's targets use, and closes
// and forgets the traffic adapters none of them uses.
func (t *targetSet) retain(ds *schema.DesiredState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for name, h := range t.hosts {
		if ds.Hosts[name] != h { // moved or gone: its adapters are built again, on the new address
			t.forgetHost(name)
		}
	}
	t.hosts = ds.Hosts
	inUse := map[string]bool{}
	hostsInUse := map[string]bool{}
	for _, target := range ds.Targets {
		inUse[adapterKey(target, target.Runtime)] = true
		inUse[adapterKey(target, target.Traffic)] = true
		if h, ok := ds.Hosts[target.Host]; ok {
			hostsInUse[h.Name+"@"+h.Address] = true
		}
	}
	for key, a := range t.agents {
		if !hostsInUse[key] {
			a.CloseIdleConnections()
			delete(t.agents, key)
		}
	}
	t.inUse = inUse
	for key, tr := range t.traffics {
		if !inUse[key] {
			closeAdapter(tr)
			delete(t.traffics, key)
		}
	}
}

// forgetHost forgets the adapters of host's targets, which only talk to
// its agent: they hold nothing of their own. Callers hold t.mu.
func (t *targetSet) forgetHost(host string) {
	prefix := host + "\x00"
	for key := range t.runtimes {
		if strings.HasPrefix(key, prefix) {
			delete(t.runtimes, key)
		}
	}
	for key := range t.traffics {
		if strings.HasPrefix(key, prefix) {
			delete(t.traffics, key)
		}
	}
}

// dropRuntime closes and forgets a retired runtime that runs nothing.
func (t *targetSet) dropRuntime(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rt, ok := t.runtimes[key]; ok && t.inUse != nil && !t.inUse[key] {
		closeAdapter(rt)
		delete(t.runtimes, key)
	}
}

// close closes every adapter built so far.
func (t *targetSet) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for key, rt := range t.runtimes {
		closeAdapter(rt)
		delete(t.runtimes, key)
	}
	for key, tr := range t.traffics {
		closeAdapter(tr)
		delete(t.traffics, key)
	}
}

func closeAdapter(a any) {
	if c, ok := a.(io.Closer); ok {
		_ = c.Close() // the adapter is forgotten either way; its next use builds a new one
	}
}

// fenceTimeout bounds sending a term's token to the agents: one that does
// not answer gets it with the first call made to it.
const fenceTimeout = 2 * time.Second

// sendFence gives every agent of the inventory this term's fencing tokens,
// once per term and before the term's first action, so that a former
// owner's actions are refused from then on; it returns the agents that
// could not be told.
func (t *targetSet) sendFence(ctx context.Context, ds *schema.DesiredState) []error {
	t.mu.Lock()
	if t.fenced || len(t.fleet.Fences) == 0 || len(ds.Hosts) == 0 {
		t.mu.Unlock()
		return nil
	}
	t.fenced = true
	var agents []*remote.Agent
	for _, name := range slices.Sorted(maps.Keys(ds.Hosts)) {
		a, err := t.agent(schema.Target{Host: name})
		if err == nil {
			agents = append(agents, a)
		}
	}
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, fenceTimeout)
	defer cancel()
	errs := make([]error, len(agents))
	var wg sync.WaitGroup
	for i, a := range agents {
		wg.Go(func() {
			_, errs[i] = a.SendFence(ctx)
		})
	}
	wg.Wait()
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// unfenced lists, when the reconciler requires agents, the targets of ds
// that name no host: nothing there could refuse a deposed leader.
func (r *Reconciler) unfenced(ds *schema.DesiredState) []string {
	if !r.cfg.RequireAgents {
		return nil
	}
	var lines []string
	for _, name := range slices.Sorted(maps.Keys(ds.Targets)) {
		if ds.Targets[name].Host == "" {
			lines = append(lines, fmt.Sprintf("target %s names no host: under --etcd every target runs behind a durable agent, which refuses a deposed leader's actions; give it host: NAME of the inventory (hosts: NAME: address: ...)", name))
		}
	}
	return lines
}
