// Package journal is the journal: the single record of what the reconciler saw,
// decided and did. Status, history and decisions are all read from it.
//
// Invariant kept by its users: an intent entry is appended before every
// action on a target and an outcome entry after it, so a reconciler killed at
// any instant finds, on restart, every action it may have started.
// The journal itself never interprets records; it must never call adapters.
package journal

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// Verdict of a revision.
const (
	RevisionAccepted = "accepted"
	RevisionRejected = "rejected"
)

// Revision is one commit of the desired-state repository as the reconciler
// saw it, with its verdict.
type Revision struct {
	Commit  string    `json:"commit"`
	Tree    string    `json:"tree"`
	Branch  string    `json:"branch"`
	Message string    `json:"message"`
	Author  string    `json:"author"`
	SeenAt  time.Time `json:"seenAt"`
	Verdict string    `json:"verdict"`
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

// InfraSet states, in the order a set normally passes through them.
const (
	SetCreating = "creating" // intent to create journaled; instances starting
	SetReady    = "ready"    // every instance healthy, not yet serving
	SetCanary   = "canary"   // a canary step: serving Weight percent beside the serving set
	SetProbe    = "probe"    // started for a check (upgrade-downgrade test), never routed
	SetServing  = "serving"  // receives the service's traffic
	SetWarm     = "warm"     // served before; kept running and routable at weight 0
	SetFailed   = "failed"   // never became healthy; to be removed
	SetRemoving = "removing" // intent to remove journaled
	SetRemoved  = "removed"  // gone from the target
)

// InfraSet is the journal's record of one immutable infra-set.
type InfraSet struct {
	ID        string    `json:"id"`
	Service   string    `json:"service"`
	Stage     string    `json:"stage"`
	Target    string    `json:"target"`
	Release   string    `json:"release"`
	State     string    `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// ServedAt is when the set last started serving; warm sets are kept
	// newest-served first.
	ServedAt time.Time `json:"servedAt,omitzero"`
	// Weight is a canary set's share of the traffic, in percent.
	Weight int `json:"weight,omitempty"`
}

// Rollout phases.
const (
	RolloutCreating  = "creating"  // new infra-set requested, waiting until healthy
	RolloutCanary    = "canary"    // the new set serves a step's weight, baking
	RolloutSwitching = "switching" // traffic moving to the new set
	RolloutSucceeded = "succeeded"
	RolloutFailed    = "failed"
	RolloutAbandoned = "abandoned" // pre-empted by a newer revision
)

// Rollout is the journaled state machine that moves one release through one
// stage on one target.
type Rollout struct {
	// ID is service/stage/target/release: one rollout per release and place.
	ID          string `json:"id"`
	Service     string `json:"service"`
	Stage       string `json:"stage"`
	Target      string `json:"target"`
	Release     string `json:"release"`
	FromRelease string `json:"fromRelease,omitempty"`
	Revision    string `json:"revision"`
	Set         string `json:"set"`
	Phase       string `json:"phase"`
	Rollback    bool   `json:"rollback"`
	Message     string `json:"message,omitempty"`
	// Step counts the canary steps started (0: none yet); StepStartedAt
	// is when the current one started, and StepBase the counters of each
	// set serving then, so that a step is judged on its own traffic.
	Step          int                 `json:"step,omitempty"`
	StepStartedAt time.Time           `json:"stepStartedAt,omitzero"`
	StepBase      map[string]Counters `json:"stepBase,omitempty"`
	// Analysis is the last judgement of the current step, for a person.
	Analysis string `json:"analysis,omitempty"`
	// Check is how far the upgrade-downgrade test went: "" (not started),
	// "downgrade" (the old release started again), "upgrade" (the new one
	// again), "done"; CheckStartedAt is when its current part started.
	Check          string    `json:"check,omitempty"`
	CheckStartedAt time.Time `json:"checkStartedAt,omitzero"`
	// Verdict is the latest policy decision on the rollout.
	Verdict   *Verdict  `json:"verdict,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Counters are a set's cumulative request counters at one instant.
type Counters struct {
	Requests     uint64 `json:"requests"`
	ServerErrors uint64 `json:"serverErrors"`
	// Latency is the cumulative latency histogram, when the source has one.
	Latency []adapters.LatencyBucket `json:"latency,omitempty"`
}

// Verdict summarises a journaled policy decision.
type Verdict struct {
	// Entry is the entry point asked (admission, gate, invariant).
	Entry   string    `json:"entry"`
	Result  string    `json:"result"`
	Reasons []string  `json:"reasons,omitempty"`
	Policy  string    `json:"policy,omitempty"`
	At      time.Time `json:"at"`
	// Seq is the decision's journal entry.
	Seq uint64 `json:"seq"`
}

// Done reports whether the rollout reached a final phase.
func (r Rollout) Done() bool {
	return r.Phase == RolloutSucceeded || r.Phase == RolloutFailed || r.Phase == RolloutAbandoned
}

// Entry kinds.
const (
	EntryRevision = "revision" // a revision was seen, with its verdict
	EntryDecision = "decision" // a policy decision
	EntryIntent   = "intent"   // an action is about to be taken
	EntryOutcome  = "outcome"  // the action's result
	EntryEvent    = "event"    // anything else worth showing (drift, restarts)
)

// Entry is one line of the append-only journal.
type Entry struct {
	// Seq is assigned by Append, strictly increasing from 1.
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Service string    `json:"service,omitempty"`
	Stage   string    `json:"stage,omitempty"`
	Target  string    `json:"target,omitempty"`
	Release string    `json:"release,omitempty"`
	Set     string    `json:"set,omitempty"`
	Rollout string    `json:"rollout,omitempty"`
	// Action names what an intent or outcome is about: create-set,
	// set-split, remove-set; or what an event records: bake-started,
	// bake-done.
	Action string `json:"action,omitempty"`
	// Intent is, on an outcome, the Seq of its intent.
	Intent uint64 `json:"intent,omitempty"`
	// Decision is, on an intent, the Seq of the decision that allowed it.
	Decision uint64 `json:"decision,omitempty"`
	// Policy and Result describe a decision entry ("builtin", "allow").
	Policy string `json:"policy,omitempty"`
	Result string `json:"result,omitempty"`
	// Message says what happened and why, for a person.
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
	// EntryPoint, InputDigest, Reasons and Took record a decision asked of
	// the policies: which entry point, the sha256 of its input, why it
	// denied or held, and how long it took.
	EntryPoint  string        `json:"entryPoint,omitempty"`
	InputDigest string        `json:"inputDigest,omitempty"`
	Reasons     []string      `json:"reasons,omitempty"`
	Took        time.Duration `json:"took,omitempty"`
	// Detail holds structured data (a split, a decision's input digest).
	Detail json.RawMessage `json:"detail,omitempty"`
}

// Store is the journal. Implementations: bbolt (embedded, one file); etcd
// (highly available) later. All methods are safe for concurrent use.
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

	PutRollout(ctx context.Context, r Rollout) error
	Rollout(ctx context.Context, id string) (Rollout, error)
	// Rollouts lists rollouts ordered by StartedAt.
	Rollouts(ctx context.Context) ([]Rollout, error)

	// Append adds an entry, assigning Seq (and Time when zero), and returns
	// it. It is durable when it returns.
	Append(ctx context.Context, e Entry) (Entry, error)
	// Entries returns entries with Seq > after, oldest first, at most limit
	// (0: all).
	Entries(ctx context.Context, after uint64, limit int) ([]Entry, error)

	Close() error
}
