package api

import "time"

// Status is what a person needs to know about the reconciler, read from the
// journal and, when the reconciler runs, from what it last observed of the
// targets. Reading a status never calls a target.
type Status struct {
	Time time.Time `json:"time"`
	// Ready says whether every placement serves the head revision, why not,
	// and since when.
	Ready Condition `json:"ready"`
	// Head is the newest revision seen; Applied the newest accepted one,
	// which is what the reconciler converges on.
	Head    *RevisionStatus `json:"head,omitempty"`
	Applied *RevisionStatus `json:"applied,omitempty"`
	Source  SourceStatus    `json:"source"`
	// Failing are the dependencies the running reconciler could not use on
	// its last try (a target's runtime or traffic adapter, Prometheus),
	// by name; none when all answer. The source is Source.
	Failing  []Failure       `json:"failing,omitempty"`
	Services []ServiceStatus `json:"services"`
	// LastSeq is the newest journal entry, to follow the journal from.
	LastSeq uint64 `json:"lastSeq"`
	// Trust says what the running reconciler verifies.
	Trust string `json:"trust,omitempty"`
	// Warnings are the guarantees the running reconciler was started
	// without; none when it runs secure.
	Warnings []Warning `json:"warnings,omitempty"`
	// Leadership is this reconciler's part in an election (durable run
	// --etcd); none when it runs alone on its own journal.
	Leadership *Leadership `json:"leadership,omitempty"`
	// Queue is the merge queue this reconciler processes (durable run
	// --queue); none without.
	Queue *QueueStatus `json:"queue,omitempty"`
}

// Leadership says what a reconciler sharing its journal in etcd with
// others (durable run --etcd) does: whether it leads (owns shard 0, and so
// takes the revisions in), owns other shards of the services, or stands
// by; who leads; and every member's shards.
type Leadership struct {
	// Role is RoleLeader, RoleMember or RoleStandby.
	Role Role `json:"role"`
	// Self is this reconciler's name; Leader the leader's, "" while none
	// is known.
	Self   string    `json:"self"`
	Leader string    `json:"leader,omitempty"`
	Since  time.Time `json:"since"`
	// Shards are the shards of the services this reconciler owns, and
	// Count how many there are (durable run --shards).
	Shards []int `json:"shards,omitempty"`
	Count  int   `json:"shardCount,omitempty"`
	// Members are the reconcilers registered, by name, with the shards
	// each owns, as last read.
	Members []Member `json:"members,omitempty"`
}

// Member is one reconciler of a deployment on etcd and the shards it
// owns.
type Member struct {
	Name   string `json:"name"`
	Shards []int  `json:"shards"`
}

// Role is a reconciler's part in an election.
type Role string

const (
	// RoleLeader acts: it owns shard 0 — it takes the revisions in and
	// converges that shard's services — and maybe others, its journal
	// writes fenced on its ownership.
	RoleLeader Role = "leader"
	// RoleMember converges the services of the shards it owns, on the
	// revisions the leader accepted.
	RoleMember Role = "member"
	// RoleStandby owns no shard; it acts on nothing.
	RoleStandby Role = "standby"
)

// RevisionStatus summarises a journaled revision.
type RevisionStatus struct {
	Commit  string          `json:"commit"`
	Message string          `json:"message"`
	SeenAt  time.Time       `json:"seenAt"`
	Verdict RevisionVerdict `json:"verdict"`
	Errors  []string        `json:"errors,omitempty"`
}

// SourceStatus says whether the repository can be fetched.
type SourceStatus struct {
	Error string    `json:"error,omitempty"`
	Since time.Time `json:"since,omitzero"`
}

// ServiceStatus is one service across its placements.
type ServiceStatus struct {
	Name       string            `json:"name"`
	Release    string            `json:"release"`
	Artifact   string            `json:"artifact"`
	Placements []PlacementStatus `json:"placements"`
	// Stages is the pipeline as the service goes through it.
	Stages []StageView `json:"stages"`
	// Hold is the applied revision's hold: true pauses its rollouts.
	Hold bool `json:"hold,omitempty"`
	// Strategy is how the service rolls out: a canary's step goals and
	// analysis thresholds.
	Strategy *StrategyView `json:"strategy,omitempty"`
}

// StageView is what one stage runs of a service, what is in flight there,
// and the releases queued for it (promoted by an earlier stage, or
// desired, and not here yet), nearest first.
type StageView struct {
	Name     string            `json:"name"`
	Serving  map[string]string `json:"serving"`
	InFlight map[string]string `json:"inFlight"`
	Queue    []string          `json:"queue"`
	// Bake and Gate are the stage's rules, with how far they are met.
	Bake *BakeView `json:"bake,omitempty"`
	Gate *GateView `json:"gate,omitempty"`
}

// PlacementStatus is one service on one target of one stage.
type PlacementStatus struct {
	Stage   string      `json:"stage"`
	Target  string      `json:"target"`
	Serving string      `json:"serving,omitempty"`
	Sets    []SetStatus `json:"sets"`
	Rollout *Rollout    `json:"rollout,omitempty"`
	// Split is the traffic the adapter really applies, as the running
	// reconciler last read it, at ObservedAt.
	Split      *Split    `json:"split,omitempty"`
	ObservedAt time.Time `json:"observedAt,omitzero"`
	// Error is the running reconciler's last error converging the
	// placement, while it lasts.
	Error *Failure `json:"error,omitempty"`
}

// SetStatus is one infra-set as the journal knows it.
type SetStatus struct {
	ID       string   `json:"id"`
	Release  string   `json:"release"`
	Artifact string   `json:"artifact"`
	State    SetState `json:"state"`
	Reason   string   `json:"reason,omitempty"`
	// Metrics are the set's counters from the traffic adapter, when it is
	// a health source, as the running reconciler last read them (at the
	// placement's ObservedAt).
	Metrics *SetMetrics `json:"metrics,omitempty"`
	// Step is, while the placement's rollout is at a canary step, what the
	// set served since that step started: Metrics less the counters the
	// rollout recorded when the step began (its stepBase). It is the window
	// the step's analysis and bake judge; Metrics are cumulative, and go on
	// across the lives of a set id made again.
	Step *SetMetrics `json:"step,omitempty"`
}

// Failure is what failed on the reconciler's last try at something — a
// dependency it calls, or converging a placement — and since when it has
// failed without a success between.
type Failure struct {
	// Dependency names what failed: "target T runtime KIND", "target T
	// traffic KIND", "prometheus ADDRESS"; empty on a placement's error,
	// whose text names the adapter.
	Dependency string    `json:"dependency,omitempty"`
	Error      string    `json:"error"`
	Since      time.Time `json:"since"`
}
