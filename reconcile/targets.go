package reconcile

import (
	"fmt"
	"io"
	"sync"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/schema"
)

// targetSet builds each target's adapters once and reuses them while the
// target's adapter configuration is unchanged. An adapter no target uses any
// more is closed (when it is an io.Closer) and forgotten: a traffic adapter at
// once, a runtime once it runs nothing, so that its orphans are collected
// first.
type targetSet struct {
	host adapters.Host

	mu       sync.Mutex
	runtimes map[string]adapters.Runtime
	traffics map[string]adapters.Traffic
	// inUse are the adapter keys the desired state's targets use; nil
	// until retain is first called.
	inUse map[string]bool
}

func newTargetSet(host adapters.Host) *targetSet {
	return &targetSet{host: host, runtimes: map[string]adapters.Runtime{}, traffics: map[string]adapters.Traffic{}}
}

func adapterKey(a schema.Adapter) string { return a.Kind + "\x00" + string(a.Config) }

func (t *targetSet) runtime(target schema.Target) (adapters.Runtime, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := adapterKey(target.Runtime)
	if rt, ok := t.runtimes[key]; ok {
		return rt, nil
	}
	rt, err := adapters.NewRuntime(target.Runtime.Kind, target.Runtime.Config, t.host)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", target.Name, err)
	}
	t.runtimes[key] = rt
	return rt, nil
}

func (t *targetSet) traffic(target schema.Target) (adapters.Traffic, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := adapterKey(target.Traffic)
	if tr, ok := t.traffics[key]; ok {
		return tr, nil
	}
	tr, err := adapters.NewTraffic(target.Traffic.Kind, target.Traffic.Config, t.host)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", target.Name, err)
	}
	t.traffics[key] = tr
	return tr, nil
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
	inUse := map[string]bool{}
	for _, target := range ds.Targets {
		inUse[adapterKey(target.Runtime)] = true
		inUse[adapterKey(target.Traffic)] = true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inUse = inUse
	for key, tr := range t.traffics {
		if !inUse[key] {
			closeAdapter(tr)
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
