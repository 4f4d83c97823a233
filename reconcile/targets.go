package reconcile

import (
	"fmt"
	"sync"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/schema"
)

// targetSet builds each target's adapters once and reuses them while the
// target's adapter configuration is unchanged.
type targetSet struct {
	host adapters.Host

	mu       sync.Mutex
	runtimes map[string]adapters.Runtime
	traffics map[string]adapters.Traffic
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

// allRuntimes lists the runtime adapters built so far.
func (t *targetSet) allRuntimes() []adapters.Runtime {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]adapters.Runtime, 0, len(t.runtimes))
	for _, rt := range t.runtimes {
		out = append(out, rt)
	}
	return out
}
