// Package agent is durable agent: it serves the adapters of the host it
// runs on — the process runtime (and any runtime of the binary), the
// router's admin API, HAProxy's Runtime API, with the HTTP health checks
// the runtimes run — to remote reconcilers over HTTPS with mutual TLS
// (TLS 1.3, a client certificate required), speaking package wire.
//
// A reconciler is allowed by its certificate's name (--allow). What a call
// may reach is what the operator's host file names; the caller chooses
// among those names, never a socket, a command or an address. Runtimes keep
// their state under the agent's --state and re-adopt what runs after a
// restart as they do under durable run. The agent keeps no record of its
// own of what runs: it passes each call to the adapter, which finds the
// truth on the host. It must never import reconcile, schema, policy or
// source.
package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/agent/wire"
	"github.com/durable-delivery/durable/adapters/hostconfig"
)

// Config is an agent's settings: its flags.
type Config struct {
	// StateDir is the directory the runtimes keep their state under
	// (--state).
	StateDir string
	// Host is the operator's host file (--host-config); nil names nothing.
	Host *hostconfig.Config
	// BindAddress is this host's IP address instances serve on
	// (--bind-address); empty is 127.0.0.1.
	BindAddress string
	// Allow are the names a client certificate must carry (its common
	// name or a DNS name) to be served (--allow).
	Allow []string
	// RunAs is the user the process runtime starts instances as (--run-as);
	// nil is the agent's own.
	RunAs *adapters.RunAs
	// Logger receives the agent's logs; nil is slog.Default().
	Logger *slog.Logger
}

// maxAdapters bounds how many distinct adapters (kind and configuration)
// the agent builds: a fleet has a handful per host.
const maxAdapters = 64

// notServed are the kinds of the binary an agent does not serve: a remote
// adapter would make the agent a relay to another host.
var notServed = []string{"remote"}

// Agent serves one host's adapters. Its methods are safe for concurrent
// use; Close releases the adapters it built.
type Agent struct {
	host  adapters.Host
	allow map[string]bool
	log   *slog.Logger

	fences *fences

	mu       sync.Mutex
	runtimes map[string]adapters.Runtime
	traffics map[string]adapters.Traffic
}

// New returns an agent for cfg. It refuses an empty allow-list: an agent
// nobody may call is a mistake.
func New(cfg Config) (*Agent, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("agent: give --state, the directory the runtimes keep their state in")
	}
	if len(cfg.Allow) == 0 {
		return nil, errors.New("agent: give --allow NAME, the name of each reconciler's client certificate that may call it")
	}
	if cfg.BindAddress != "" {
		if a, err := netip.ParseAddr(cfg.BindAddress); err != nil || a.Zone() != "" || a.IsUnspecified() {
			return nil, fmt.Errorf("agent: --bind-address %q: give this host's IP address a load balancer reaches its instances at (10.0.0.11, say)", cfg.BindAddress)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	allow := map[string]bool{}
	for _, n := range cfg.Allow {
		// An empty name would allow every certificate without a common name.
		if strings.TrimSpace(n) != n || n == "" {
			return nil, fmt.Errorf("agent: --allow %q: give the name a reconciler's certificate carries, without spaces", n)
		}
		allow[n] = true
	}
	fs, err := loadFences(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	return &Agent{
		fences:   fs,
		host:     adapters.Host{StateDir: cfg.StateDir, Config: cfg.Host, BindAddress: cfg.BindAddress, RunAs: cfg.RunAs},
		allow:    allow,
		log:      cfg.Logger.With("component", "agent"),
		runtimes: map[string]adapters.Runtime{},
		traffics: map[string]adapters.Traffic{},
	}, nil
}

// Close releases every adapter built. It never stops an instance: a new
// agent on the same --state re-adopts them.
func (a *Agent) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for _, rt := range a.runtimes {
		if c, ok := rt.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	for _, tr := range a.traffics {
		if c, ok := tr.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// runtime is the runtime adapter ad names, built on first use and kept:
// a runtime may run background work (the process runtime's reaper) that
// one call must not start again.
func (a *Agent) runtime(ad wire.Adapter) (adapters.Runtime, error) {
	return built(a, a.runtimes, ad, adapters.RuntimeKinds(), adapters.NewRuntime)
}

// traffic is the traffic adapter ad names, built on first use and kept.
func (a *Agent) traffic(ad wire.Adapter) (adapters.Traffic, error) {
	return built(a, a.traffics, ad, adapters.TrafficKinds(), adapters.NewTraffic)
}

func built[A any](a *Agent, cache map[string]A, ad wire.Adapter, kinds []string,
	build func(string, json.RawMessage, adapters.Host) (A, error)) (A, error) {
	var zero A
	if !slices.Contains(kinds, ad.Kind) || slices.Contains(notServed, ad.Kind) {
		served := slices.DeleteFunc(slices.Clone(kinds), func(k string) bool { return slices.Contains(notServed, k) })
		return zero, fmt.Errorf("adapter kind %q is not served by this agent (it serves %v): %w", ad.Kind, served, adapters.ErrInvalid)
	}
	config, err := wire.Compact(ad.Config)
	if err != nil {
		return zero, fmt.Errorf("%s: %w: %w", ad.Kind, err, adapters.ErrInvalid)
	}
	key := ad.Kind + "\x00" + config
	a.mu.Lock()
	defer a.mu.Unlock()
	if v, ok := cache[key]; ok {
		return v, nil
	}
	if len(a.runtimes)+len(a.traffics) >= maxAdapters {
		return zero, fmt.Errorf("%s: the agent already serves %d adapter configurations, its bound: %w", ad.Kind, maxAdapters, adapters.ErrUnavailable)
	}
	v, err := build(ad.Kind, json.RawMessage(config), a.host)
	if err != nil {
		return zero, err
	}
	cache[key] = v
	a.log.Info("adapter built", "kind", ad.Kind, "config", config)
	return v, nil
}
