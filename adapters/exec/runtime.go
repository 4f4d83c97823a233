package exec

import (
	"context"
	"encoding/json"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/httpcheck"
)

func init() {
	adapters.RegisterRuntime("exec", func(config json.RawMessage, host adapters.Host) (adapters.Runtime, error) {
		c, err := newTransport(config, host)
		if err != nil {
			return nil, err
		}
		return newRuntime(c), nil
	})
	adapters.RegisterTraffic("exec", func(config json.RawMessage, host adapters.Host) (adapters.Traffic, error) {
		c, err := newTransport(config, host)
		if err != nil {
			return nil, err
		}
		return newTraffic(c), nil
	})
}

// Runtime is a runtime adapter implemented by an executable. Durable runs
// the HTTP health check of the instances the executable reports itself, so
// an executable only starts, lists and stops instances.
type Runtime struct {
	c        transport
	observed *lastListing[[]adapters.InfraSetStatus]
}

func newRuntime(c transport) *Runtime { return &Runtime{c: c, observed: newObserved()} }

var _ adapters.Runtime = (*Runtime)(nil)

// NewRuntime returns a runtime adapter that runs command for each call.
func NewRuntime(command []string, timeout time.Duration) *Runtime {
	return newRuntime(oneShot{command: command, timeout: timeout})
}

// NewLongLivedRuntime returns a runtime adapter that keeps one process of
// command, named name in errors, answering calls as JSON lines; Close
// stops it.
func NewLongLivedRuntime(name string, command []string, timeout time.Duration) *Runtime {
	return newRuntime(newLongLived(name, command, timeout))
}

// Close stops the long-lived process, if any.
func (r *Runtime) Close() error { return r.c.Close() }

// setJSON is an infra-set as the executable reports it.
type setJSON struct {
	ID        string `json:"id"`
	Service   string `json:"service"`
	Release   string `json:"release"`
	Instances []struct {
		Index    int    `json:"index"`
		Endpoint string `json:"endpoint"`
	} `json:"instances"`
}

func (s setJSON) status() adapters.InfraSetStatus {
	st := adapters.InfraSetStatus{ID: s.ID, Service: s.Service, Release: s.Release}
	for _, in := range s.Instances {
		st.Instances = append(st.Instances, adapters.Instance{Index: in.Index, Endpoint: in.Endpoint})
	}
	return st
}

// Ensure asks the executable to run the set, then checks its instances.
func (r *Runtime) Ensure(ctx context.Context, spec adapters.InfraSetSpec) (adapters.InfraSetStatus, error) {
	req := request{Op: "ensure", Spec: &specJSON{ID: spec.ID, Service: spec.Service, Release: spec.Release,
		Artifact: spec.Artifact, Args: spec.Args, Env: spec.Env, Port: spec.Port, Replicas: spec.Replicas}}
	var set setJSON
	if err := r.c.call(ctx, req, &set); err != nil {
		return adapters.InfraSetStatus{ID: spec.ID}, err
	}
	st := set.status()
	httpcheck.Run(ctx, st.Instances, spec.Health)
	return st, nil
}

// Observe asks the executable what it runs.
func (r *Runtime) Observe(ctx context.Context) ([]adapters.InfraSetStatus, error) {
	var sets []adapters.InfraSetStatus
	if err := r.c.call(ctx, request{Op: "observe"}, r.observed.into(&sets)); err != nil {
		return nil, err
	}
	return sets, nil
}

// Remove asks the executable to stop the set within grace.
func (r *Runtime) Remove(ctx context.Context, id string, grace time.Duration) error {
	return r.c.call(ctx, request{Op: "remove", ID: id, Grace: grace.String()}, nil)
}
