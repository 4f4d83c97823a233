package notify

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// Type names what an event says happened. A sink lists the types it wants.
type Type string

// The event types, each read from the journal (see classify.go for which
// record means which).
const (
	RevisionRejected   Type = "revision.rejected"     // a revision may not apply; what runs is unchanged
	RolloutStarted     Type = "rollout.started"       // a release starts moving through one stage on one target
	RolloutStepPromote Type = "rollout.step-promoted" // a canary step took its weight of the traffic
	RolloutPromoted    Type = "rollout.promoted"      // the release serves all the traffic of its placement
	RolloutFailed      Type = "rollout.failed"        // the rollout failed; the release is not retried until a new revision
	RolloutRolledBack  Type = "rollout.rolled-back"   // traffic went back to an earlier release
	GateHeld           Type = "gate.held"             // a gate policy or a hold commit holds a rollout, with its reasons
	ApprovalNeeded     Type = "approval.needed"       // a stage's gate waits for approvals of a release
	DriftRepaired      Type = "drift.repaired"        // a traffic split changed by hand was restored
	DependencyDown     Type = "dependency.down"       // a dependency the reconciler calls started failing
	DependencyUp       Type = "dependency.up"         // it answers again
)

// Types lists every event type, in the order the documentation gives them.
var Types = []Type{RevisionRejected, RolloutStarted, RolloutStepPromote, RolloutPromoted, RolloutFailed,
	RolloutRolledBack, GateHeld, ApprovalNeeded, DriftRepaired, DependencyDown, DependencyUp}

// Event is what a sink is sent: one thing that happened, for a person and
// for a program. It is the body of a webhook delivery and the data of a
// CloudEvent.
type Event struct {
	// ID is unique to the event; it is the same on every retry of it, so a
	// receiver can drop a delivery it already has.
	ID   string    `json:"id"`
	Type Type      `json:"type"`
	Time time.Time `json:"time"`
	// Summary says what happened on one line.
	Summary string `json:"summary"`
	// Seq is the journal entry the event comes from (0 when it comes from a
	// rollout's record).
	Seq         uint64 `json:"seq,omitempty"`
	Service     string `json:"service,omitempty"`
	Stage       string `json:"stage,omitempty"`
	Target      string `json:"target,omitempty"`
	Release     string `json:"release,omitempty"`
	FromRelease string `json:"fromRelease,omitempty"`
	Rollout     string `json:"rollout,omitempty"`
	Revision    string `json:"revision,omitempty"`
	// Step is the canary step a step-promoted event reached (1-based).
	Step int `json:"step,omitempty"`
	// Rollback is set on a rollout that switches back to a warm set.
	Rollback bool `json:"rollback,omitempty"`
	// Dependency names a dependency that is down or up again.
	Dependency string `json:"dependency,omitempty"`
	// Policy and Reasons are a hold's: the policy that held, and why.
	Policy  string   `json:"policy,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
	// Error says what failed, when something did.
	Error string `json:"error,omitempty"`
}

// Bounds on what an event carries from the journal: a revision's errors or
// a hold's reasons may be long, and every queued event holds them.
const (
	maxText    = 4 << 10
	maxReasons = 20
)

// bounded cuts s to at most maxText bytes, on a rune boundary.
func bounded(s string) string {
	if len(s) <= maxText {
		return s
	}
	cut := maxText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// boundedList keeps the first maxReasons items, each bounded.
func boundedList(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, min(len(in), maxReasons+1))
	for i, s := range in {
		if i == maxReasons {
			out = append(out, "…")
			break
		}
		out = append(out, bounded(s))
	}
	return out
}

// oneLine joins the lines of s with spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Subject is what the event is about, for a CloudEvent's subject: the
// rollout, else the service, the dependency or the revision.
func (e *Event) Subject() string {
	switch {
	case e.Rollout != "":
		return e.Rollout
	case e.Service != "":
		return e.Service
	case e.Dependency != "":
		return e.Dependency
	}
	return e.Revision
}

// newID is 16 random bytes in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// short is the first 12 characters of a release id or a commit.
func short(id string) string { return id[:min(12, len(id))] }
