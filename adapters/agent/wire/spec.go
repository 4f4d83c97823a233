package wire

import (
	"fmt"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// Spec is adapters.InfraSetSpec on the wire; durations are Go durations
// ("1.5s").
type Spec struct {
	ID        string            `json:"id"`
	Service   string            `json:"service"`
	Release   string            `json:"release"`
	Artifact  string            `json:"artifact"`
	Args      []string          `json:"args,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Port      int               `json:"port,omitempty"`
	Replicas  int               `json:"replicas"`
	Health    HealthCheck       `json:"health"`
	Resources Resources         `json:"resources"`
}

// HealthCheck is adapters.HealthCheck on the wire.
type HealthCheck struct {
	Path         string `json:"path,omitempty"`
	ExpectStatus int    `json:"expectStatus,omitempty"`
	Timeout      string `json:"timeout,omitempty"`
}

// Resources is adapters.Resources on the wire.
type Resources struct {
	NanoCPUs    int64 `json:"nanoCPUs,omitempty"`
	MemoryBytes int64 `json:"memoryBytes,omitempty"`
}

// Instance is adapters.Instance on the wire.
type Instance struct {
	Index    int    `json:"index"`
	Endpoint string `json:"endpoint,omitempty"`
	PID      int    `json:"pid,omitempty"`
	Healthy  bool   `json:"healthy"`
	Reason   string `json:"reason,omitempty"`
}

// SetStatus is adapters.InfraSetStatus on the wire.
type SetStatus struct {
	ID        string     `json:"id"`
	Service   string     `json:"service"`
	Release   string     `json:"release"`
	Instances []Instance `json:"instances"`
}

// FromSpec is s on the wire.
func FromSpec(s adapters.InfraSetSpec) Spec {
	return Spec{ID: s.ID, Service: s.Service, Release: s.Release, Artifact: s.Artifact, Args: s.Args, Env: s.Env,
		Port: s.Port, Replicas: s.Replicas,
		Health:    HealthCheck{Path: s.Health.Path, ExpectStatus: s.Health.ExpectStatus, Timeout: duration(s.Health.Timeout)},
		Resources: Resources{NanoCPUs: s.Resources.NanoCPUs, MemoryBytes: s.Resources.MemoryBytes}}
}

// InfraSetSpec is the spec s carries; a duration that is not one is
// adapters.ErrInvalid.
func (s Spec) InfraSetSpec() (adapters.InfraSetSpec, error) {
	timeout, err := ParseDuration("spec.health.timeout", s.Health.Timeout)
	if err != nil {
		return adapters.InfraSetSpec{}, err
	}
	return adapters.InfraSetSpec{ID: s.ID, Service: s.Service, Release: s.Release, Artifact: s.Artifact, Args: s.Args, Env: s.Env,
		Port: s.Port, Replicas: s.Replicas,
		Health:    adapters.HealthCheck{Path: s.Health.Path, ExpectStatus: s.Health.ExpectStatus, Timeout: timeout},
		Resources: adapters.Resources{NanoCPUs: s.Resources.NanoCPUs, MemoryBytes: s.Resources.MemoryBytes}}, nil
}

// FromStatus is st on the wire.
func FromStatus(st adapters.InfraSetStatus) SetStatus {
	out := SetStatus{ID: st.ID, Service: st.Service, Release: st.Release, Instances: make([]Instance, 0, len(st.Instances))}
	for _, in := range st.Instances {
		out.Instances = append(out.Instances, Instance(in))
	}
	return out
}

// InfraSetStatus is the status s carries.
func (s SetStatus) InfraSetStatus() adapters.InfraSetStatus {
	out := adapters.InfraSetStatus{ID: s.ID, Service: s.Service, Release: s.Release}
	for _, in := range s.Instances {
		out.Instances = append(out.Instances, adapters.Instance(in))
	}
	return out
}

func duration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// ParseDuration reads a duration of the wire, empty being zero; field names
// it in the error.
func ParseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s %q is not a duration such as \"1.5s\": %w", field, s, adapters.ErrInvalid)
	}
	return d, nil
}
