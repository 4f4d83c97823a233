package reconcile

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// specOf rebuilds the runtime instructions of a journaled set from its
// release, which the journal keeps whole.
func (r *Reconciler) specOf(ctx context.Context, s journal.InfraSet) (adapters.InfraSetSpec, error) {
	svc, err := r.serviceOf(ctx, s.Release)
	if err != nil {
		return adapters.InfraSetSpec{}, fmt.Errorf("infra-set %s: %w", s.ID, err)
	}
	return r.withSecretValues(specFor(s, svc), svc)
}

// withSecretValues adds the service's secrets, read on this host now, to
// the instructions for the runtime: the only place their values go.
func (r *Reconciler) withSecretValues(spec adapters.InfraSetSpec, svc schema.Service) (adapters.InfraSetSpec, error) {
	if len(svc.Run.SecretEnv) == 0 {
		return spec, nil
	}
	values, err := r.resolveSecrets(svc)
	if err != nil {
		return spec, err
	}
	env := make(map[string]string, len(spec.Env)+len(values))
	for k, v := range spec.Env {
		env[k] = v
	}
	for k, v := range values {
		env[k] = v
	}
	spec.Env = env
	return spec, nil
}

// serviceOf reads the service as a journaled release declared it.
func (r *Reconciler) serviceOf(ctx context.Context, release string) (schema.Service, error) {
	var svc schema.Service
	rel, err := r.store.Release(ctx, release)
	if err != nil {
		return svc, err
	}
	if err := json.Unmarshal(rel.Spec, &svc); err != nil {
		return svc, fmt.Errorf("release %s: %w", short(release), err)
	}
	return svc, nil
}

func specFor(s journal.InfraSet, svc schema.Service) adapters.InfraSetSpec {
	var res adapters.Resources
	if r := svc.Run.Resources; r != nil {
		res = adapters.Resources{NanoCPUs: int64(r.CPUs * 1e9), MemoryBytes: r.MemoryBytes()}
	}
	return adapters.InfraSetSpec{Resources: res,
		ID: s.ID, Service: s.Service, Release: s.Release, Artifact: svc.Artifact,
		Args: svc.Run.Args, Env: svc.Run.Env, Port: svc.Run.Port, Replicas: svc.Run.Replicas,
		Health: adapters.HealthCheck{Path: svc.Health.Path, ExpectStatus: svc.Health.ExpectStatus, Timeout: svc.Health.Timeout.Duration},
	}
}
