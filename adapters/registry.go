package adapters

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/durable-delivery/durable/adapters/hostconfig"
)

// Host is what the reconciler host gives every adapter it builds: settings
// that belong to the machine, never to the desired-state repository.
type Host struct {
	// StateDir is a directory the adapter may own a sub-directory of.
	StateDir string
	// RunAs is the user runtimes start instances as; nil is the
	// reconciler's own user.
	RunAs *RunAs
	// Config is the operator's host file (durable run --host-config): a
	// target's plug-in, Docker engine, HAProxy socket or router admin is a
	// name the adapter looks up here. Nil when there is none: every name
	// is then unknown.
	Config *hostconfig.Config
	// BindAddress is the IP address instances serve on, where runtimes
	// choose it (process): the host's address on an agent, so that a load
	// balancer on another host reaches them. Empty is 127.0.0.1.
	BindAddress string
}

// RuntimeFactory builds a runtime adapter from its configuration, decoded
// strictly (unknown fields are errors) from the target's desired state.
type RuntimeFactory func(config json.RawMessage, host Host) (Runtime, error)

// TrafficFactory builds a traffic adapter from its configuration.
type TrafficFactory func(config json.RawMessage, host Host) (Traffic, error)

var (
	registryMu sync.RWMutex
	runtimes   = map[string]RuntimeFactory{}
	traffics   = map[string]TrafficFactory{}
)

// RegisterRuntime makes a runtime adapter available under kind. Adapters call
// it from an init function; registering a kind twice panics.
func RegisterRuntime(kind string, f RuntimeFactory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := runtimes[kind]; dup {
		panic("adapters: runtime " + kind + " registered twice")
	}
	runtimes[kind] = f
}

// RegisterTraffic makes a traffic adapter available under kind.
func RegisterTraffic(kind string, f TrafficFactory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := traffics[kind]; dup {
		panic("adapters: traffic " + kind + " registered twice")
	}
	traffics[kind] = f
}

// NewRuntime builds the runtime adapter registered under kind.
func NewRuntime(kind string, config json.RawMessage, host Host) (Runtime, error) {
	registryMu.RLock()
	f, ok := runtimes[kind]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("runtime adapter %q: %w (known: %v)", kind, ErrNotFound, RuntimeKinds())
	}
	return f(config, host)
}

// NewTraffic builds the traffic adapter registered under kind.
func NewTraffic(kind string, config json.RawMessage, host Host) (Traffic, error) {
	registryMu.RLock()
	f, ok := traffics[kind]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("traffic adapter %q: %w (known: %v)", kind, ErrNotFound, TrafficKinds())
	}
	return f(config, host)
}

// RuntimeKinds lists the registered runtime adapters.
func RuntimeKinds() []string { return kinds(runtimes) }

// TrafficKinds lists the registered traffic adapters.
func TrafficKinds() []string { return kinds(traffics) }

func kinds[F any](m map[string]F) []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// DecodeConfig decodes an adapter's configuration strictly into v: an
// unknown field is an error, so that a typo never passes silently.
func DecodeConfig(config json.RawMessage, v any) error {
	if len(config) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(config))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("adapter configuration: %w", err)
	}
	return nil
}
