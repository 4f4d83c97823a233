package api

import "time"

// History is the releases the stages ran over time, oldest first: durable
// history's answer, read from the journal's rollouts.
type History struct {
	Releases []HistoryRelease `json:"releases"`
}

// Outcome is how a release's rollout on a placement ended.
type Outcome string

// Outcomes of a rollout.
const (
	OutcomeInFlight   Outcome = "inFlight"   // not done yet
	OutcomeSucceeded  Outcome = "succeeded"  // it served
	OutcomeRolledBack Outcome = "rolledBack" // it served, then a rollback took the traffic back
	OutcomeFailed     Outcome = "failed"     // it never served, or its canary failed
	OutcomeAbandoned  Outcome = "abandoned"  // a newer revision pre-empted it
)

// HistoryRelease is one rollout: a release on one target of one stage.
type HistoryRelease struct {
	Service string `json:"service"`
	Stage   string `json:"stage"`
	Target  string `json:"target"`
	Release string `json:"release"`
	// FromRelease is what served before; Rollback is true when the rollout
	// switched back to a warm release.
	FromRelease string `json:"fromRelease,omitempty"`
	Rollback    bool   `json:"rollback"`
	// Commit and Message are the revision that asked for it.
	Commit  string  `json:"commit"`
	Message string  `json:"message,omitempty"`
	Outcome Outcome `json:"outcome"`
	// Reason is the rollout's last message (why it failed, for instance).
	Reason    string    `json:"reason,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	EndedAt   time.Time `json:"endedAt,omitzero"`
	// Took is how long the rollout ran (until now while in flight);
	// Served how long the release served there, until the next release
	// took over (until now while it serves).
	Took   Duration `json:"took"`
	Served Duration `json:"served,omitzero"`
}
