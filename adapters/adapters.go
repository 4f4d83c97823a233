// Package adapters holds the contracts between the reconciler and the real
// targets it converges: runtime adapters run infra-sets, traffic adapters
// split a service's traffic across infra-sets, health sources report how an
// infra-set is doing.
//
// An adapter receives typed instructions and reports what it observes. It must
// never import Git, CUE or OPA code, nor anything under reconcile: it knows
// nothing of revisions, policies or the journal. Every call is idempotent (a
// call repeated after a crash has the same result) and honours its context
// deadline.
package adapters

import (
	"context"
	"errors"
	"time"

	"github.com/durable-delivery/durable/api"
)

// Errors an adapter wraps so that callers can tell the cases apart.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrUnavailable = errors.New("unavailable")
	ErrInvalid     = errors.New("invalid")
	// ErrFenced refuses a caller whose fencing token is below the highest
	// the target has seen: a newer owner drives it now.
	ErrFenced = errors.New("fenced")
)

// InfraSetSpec is everything a runtime adapter needs to run one infra-set:
// the immutable set of instances that runs one release on one target.
type InfraSetSpec struct {
	// ID names the infra-set; it is stable across reconciler restarts and is
	// the only key an adapter uses to find what it already runs.
	ID      string
	Service string
	Release string
	// Artifact is an OCI reference pinned by digest (repo@sha256:…).
	Artifact string
	Args     []string
	Env      map[string]string
	// Port is the port the service listens on inside its artifact. Adapters
	// that choose the port themselves (process) pass it in the PORT
	// environment variable instead.
	Port     int
	Replicas int
	Health   HealthCheck
	// Resources limit each instance; a runtime that cannot apply a limit
	// asked of it refuses the set (ErrInvalid) rather than ignore it.
	Resources Resources
}

// Resources are the limits of one instance; zero means no limit.
type Resources struct {
	NanoCPUs    int64
	MemoryBytes int64
}

// HealthCheck is an HTTP check an adapter runs against each instance.
type HealthCheck struct {
	Path         string
	ExpectStatus int
	Timeout      time.Duration
}

// Instance is one observed member of an infra-set.
type Instance struct {
	// Index is the instance's ordinal within its set (0..Replicas-1).
	Index int
	// Endpoint is the host:port where the instance serves, reachable by the
	// traffic adapter.
	Endpoint string
	PID      int
	Healthy  bool
	// Reason says why an instance is not healthy.
	Reason string
}

// InfraSetStatus is what a runtime adapter observes of one infra-set.
type InfraSetStatus struct {
	ID        string
	Service   string
	Release   string
	Instances []Instance
}

// Healthy reports whether the set has at least want instances that pass
// their health check.
func (s InfraSetStatus) Healthy(want int) bool {
	return len(s.Endpoints()) >= want
}

// Endpoints lists the endpoints of the healthy instances, ordered by index.
func (s InfraSetStatus) Endpoints() []string {
	var out []string
	for _, in := range s.Instances {
		if in.Healthy {
			out = append(out, in.Endpoint)
		}
	}
	return out
}

// Runtime runs infra-sets on a target.
type Runtime interface {
	// Ensure makes the infra-set exist with spec.Replicas instances, starting
	// the missing ones and replacing dead ones, and returns what it observes
	// after doing so. It does not wait for instances to become healthy.
	Ensure(ctx context.Context, spec InfraSetSpec) (InfraSetStatus, error)
	// Observe lists every infra-set this adapter really runs, found from the
	// target itself (labels, environment), never from a memory of its own.
	Observe(ctx context.Context) ([]InfraSetStatus, error)
	// Remove stops and deletes every instance of the infra-set, letting each
	// finish its in-flight work within grace. Removing what is absent is not
	// an error.
	Remove(ctx context.Context, id string, grace time.Duration) error
}

// The traffic adapters' observations are the wire model's (package api), so
// that what an adapter reports is what the API shows, with no conversion.
type (
	// Backend is one infra-set's share of a service's traffic.
	Backend = api.Backend
	// Split is the traffic of one service across its infra-sets.
	Split = api.Split
	// SetMetrics are counters a health source reports for one infra-set.
	SetMetrics = api.SetMetrics
	// LatencyBucket is one cumulative bucket of a latency histogram.
	LatencyBucket = api.LatencyBucket
)

// Traffic splits a service's traffic across infra-sets.
type Traffic interface {
	// SetSplit replaces the service's split atomically: once it returns, no
	// new request reaches a set at weight 0 or absent from the split.
	SetSplit(ctx context.Context, split Split) error
	// Split reports the split the traffic adapter really applies.
	Split(ctx context.Context, service string) (Split, error)
	// InFlight reports how many requests a set still has in flight, so that
	// a caller can wait for a set to drain before removing it.
	InFlight(ctx context.Context, service, set string) (int, error)
}

// SplitRemover is a traffic adapter that can stop routing a service
// altogether (a preview route once its release is switched to).
type SplitRemover interface {
	RemoveSplit(ctx context.Context, service string) error
}

// SplitLister is a traffic adapter that reports every service's split in
// one call, so that a reconciler's pass reads a target's traffic once
// instead of once per service. What it lists must be what Split reports for
// each service, and a service it omits one for which Split reports
// ErrNotFound (adaptertest's suite checks both).
type SplitLister interface {
	// Splits reports the split really applied for every service routed.
	Splits(ctx context.Context) ([]Split, error)
}

// HealthSource reports health signals for infra-sets.
type HealthSource interface {
	// SetMetrics returns the cumulative counters of one infra-set of a
	// service since the source started observing it.
	SetMetrics(ctx context.Context, service, set string) (SetMetrics, error)
}
