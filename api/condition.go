package api

import "time"

// Condition is a status a person can read: what is true, why, since when.
type Condition struct {
	Status  bool      `json:"status"`
	Reason  Reason    `json:"reason"`
	Message string    `json:"message"`
	Since   time.Time `json:"since,omitzero"`
}

// Reason says in one word why a condition has its status.
type Reason string

// Reasons of the Ready condition.
const (
	// ReasonNoRevision: no revision of the repository was accepted yet.
	ReasonNoRevision Reason = "NoRevision"
	// ReasonRevisionRejected: the head revision was rejected; the last
	// accepted one still runs.
	ReasonRevisionRejected Reason = "RevisionRejected"
	// ReasonRolloutFailed: the applied revision's release failed somewhere
	// and was rolled back there.
	ReasonRolloutFailed Reason = "RolloutFailed"
	// ReasonConverged: every service serves the applied revision's release
	// on every placement.
	ReasonConverged Reason = "Converged"
	// ReasonProgressing: the applied revision is rolling out.
	ReasonProgressing Reason = "Progressing"
	// ReasonHeld: the applied revision is not rolled out everywhere because
	// a service it changes has hold: true; it goes on once a commit lifts
	// the hold.
	ReasonHeld Reason = "Held"
	// ReasonSourceUnreachable: converged, but the repository cannot be
	// fetched, so a newer commit may be waiting.
	ReasonSourceUnreachable Reason = "SourceUnreachable"
	// ReasonStandby: this reconciler stands by in an election (durable
	// run --etcd); the leader acts, and its status tells how it converges.
	ReasonStandby Reason = "Standby"
)
