// Package journal is the journal: the single record of what the reconciler saw,
// decided and did. Status, history and decisions are all read from it.
//
// Invariant kept by its users: an intent entry is appended before every
// action on a target and an outcome entry after it, so a reconciler killed at
// any instant finds, on restart, every action it may have started.
// The journal itself never interprets records, but for its retention
// (retention.go), which reads what refers to what to know what is still
// needed; it must never call adapters.
package journal

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/durable-delivery/durable/api"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// Revision is one commit of the desired-state repository as the reconciler
// saw it, with its verdict.
type Revision struct {
	Commit  string              `json:"commit"`
	Tree    string              `json:"tree"`
	Branch  string              `json:"branch"`
	Message string              `json:"message"`
	Author  string              `json:"author"`
	SeenAt  time.Time           `json:"seenAt"`
	Verdict api.RevisionVerdict `json:"verdict"`
	// Errors are positioned ("file:line:col: message") when the revision was
	// rejected for its content.
	Errors []string `json:"errors,omitempty"`
	// Releases maps each service to the release id the revision declares.
	Releases map[string]string `json:"releases,omitempty"`
	// DesiredState is the loaded desired state (schema.DesiredState as JSON),
	// kept so that a restarted reconciler can plan without fetching.
	DesiredState json.RawMessage `json:"desiredState,omitempty"`
	// Policies are the repository's Rego files (path → text), kept so that
	// a restarted reconciler decides with the policies of its revision.
	Policies map[string]string `json:"policies,omitempty"`
	// Approvals are the revision's approvals (policy.Approval as JSON), each
	// attributed to the first revision that carried it.
	Approvals json.RawMessage `json:"approvals,omitempty"`
	// Attempt is the revision whose attempt this one continues: its own
	// commit, or, when it changed nothing but holds since the accepted
	// revision before it, that one's attempt. A release failed in an
	// attempt is not retried within it.
	Attempt string `json:"attempt,omitempty"`
}

// Release is the content of one service at one revision.
type Release struct {
	ID       string    `json:"id"`
	Service  string    `json:"service"`
	Artifact string    `json:"artifact"`
	Revision string    `json:"revision"`
	SeenAt   time.Time `json:"seenAt"`
	// Spec is the service as declared (schema.Service as JSON).
	Spec json.RawMessage `json:"spec"`
}

// InfraSet is the journal's record of one immutable infra-set.
type InfraSet struct {
	ID        string       `json:"id"`
	Service   string       `json:"service"`
	Stage     string       `json:"stage"`
	Target    string       `json:"target"`
	Release   string       `json:"release"`
	State     api.SetState `json:"state"`
	Reason    string       `json:"reason,omitempty"`
	CreatedAt time.Time    `json:"createdAt"`
	UpdatedAt time.Time    `json:"updatedAt"`
	// ServedAt is when the set last started serving; warm sets are kept
	// newest-served first.
	ServedAt time.Time `json:"servedAt,omitzero"`
	// Weight is a canary set's share of the traffic, in percent.
	Weight int `json:"weight,omitempty"`
}

// The records the API shows as they are journaled are the wire model's
// (package api): the journal stores them unchanged.
type (
	// Rollout is the journaled state machine that moves one release through
	// one stage on one target.
	Rollout = api.Rollout
	// Counters are a set's cumulative request counters at one instant.
	Counters = api.Counters
	// Verdict summarises a journaled policy decision.
	Verdict = api.Verdict
	// Entry is one line of the append-only journal.
	Entry = api.Entry
)

// Store is the journal. Implementations: Bolt (bbolt: embedded, one file)
// and Etcd (etcd: highly available, its writes fenced on an ownership key);
// TestStoreConformance holds both to this contract. All methods are safe
// for concurrent use.
type Store interface {
	PutRevision(ctx context.Context, r Revision) error
	// Revision returns ErrNotFound for an unknown commit.
	Revision(ctx context.Context, commit string) (Revision, error)
	// Revisions lists revisions newest-seen first, at most limit (0: all).
	Revisions(ctx context.Context, limit int) ([]Revision, error)

	PutRelease(ctx context.Context, r Release) error
	Release(ctx context.Context, id string) (Release, error)

	PutInfraSet(ctx context.Context, s InfraSet) error
	InfraSet(ctx context.Context, id string) (InfraSet, error)
	// InfraSets lists every infra-set ever recorded, removed ones included,
	// ordered by CreatedAt.
	InfraSets(ctx context.Context) ([]InfraSet, error)
	// ServiceInfraSets lists one service's infra-sets, in InfraSets' order.
	ServiceInfraSets(ctx context.Context, service string) ([]InfraSet, error)

	PutRollout(ctx context.Context, r Rollout) error
	Rollout(ctx context.Context, id string) (Rollout, error)
	// Rollouts lists rollouts ordered by StartedAt.
	Rollouts(ctx context.Context) ([]Rollout, error)
	// ServiceRollouts lists one service's rollouts, in Rollouts' order.
	ServiceRollouts(ctx context.Context, service string) ([]Rollout, error)

	// Transitions lists every change of an infra-set's state or of a
	// rollout's phase, oldest first, recorded with the change itself.
	Transitions(ctx context.Context) ([]Transition, error)

	// Append adds an entry, assigning Seq (and Time when zero), and returns
	// it. It is durable when it returns.
	Append(ctx context.Context, e Entry) (Entry, error)
	// Entries returns entries with Seq > after, oldest first, at most limit
	// (0: all).
	Entries(ctx context.Context, after uint64, limit int) ([]Entry, error)
	// Compacted lists the ranges of Seqs the retention removed, in order:
	// the only gaps Entries may show.
	Compacted(ctx context.Context) ([]SeqRange, error)

	Close() error
}
