package api

import "time"

// QueueStatus is the merge queue a reconciler processes (durable run
// --queue): the proposals waiting, in the order they land, and the newest
// that ended.
type QueueStatus struct {
	// Proposals are in queue order (their Seq): every live one, and the
	// newest ended ones, at most RecentEnded.
	Proposals []QueueProposal `json:"proposals"`
	// Waiting counts the live proposals (queued, validating, landing).
	Waiting int `json:"waiting"`
	// Error says why the queue's state could not be read; Proposals are
	// then empty.
	Error string `json:"error,omitempty"`
}

// RecentEnded is how many of the proposals that ended (landed, ejected,
// removed) a QueueStatus shows, the newest.
const RecentEnded = 20

// QueueProposal is one branch in the merge queue and what happened to it.
type QueueProposal struct {
	// Seq is the order it was added in.
	Seq uint64 `json:"seq"`
	// Branch is the branch's short name (queue/web-v2); Head the commit it
	// pointed at when it was added, which is what is validated.
	Branch string        `json:"branch"`
	Head   string        `json:"head"`
	State  ProposalState `json:"state"`
	// Position is its place among the live proposals, 1 at the head; 0
	// once it ended.
	Position int       `json:"position,omitempty"`
	Added    time.Time `json:"added"`
	Since    time.Time `json:"since"`
	// Reason is the kind of failure that ejected it (signature, invalid,
	// policy-test, admission, conflict, check, branch); Reasons the lines
	// that say why.
	Reason  string   `json:"reason,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
	// Candidate is the commit validated (and, landed, the one on main);
	// Method how it was applied: fast-forward, merge or field-merge.
	Candidate string `json:"candidate,omitempty"`
	Method    string `json:"method,omitempty"`
}

// ProposalState is where a proposal is in the merge queue.
type ProposalState string

// Proposal states.
const (
	ProposalQueued     ProposalState = "queued"     // waits its turn, or to be validated again
	ProposalValidating ProposalState = "validating" // applied onto main and being checked
	ProposalLanding    ProposalState = "landing"    // passed: main is about to move to its candidate
	ProposalLanded     ProposalState = "landed"     // on main
	ProposalEjected    ProposalState = "ejected"    // failed a check or conflicts; Reasons say why
	ProposalRemoved    ProposalState = "removed"    // taken out by a person
)
