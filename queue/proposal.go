package queue

import (
	"fmt"
	"time"
)

// State is where a proposal is in the queue.
type State string

const (
	// Queued waits its turn (or to be validated again).
	Queued State = "queued"
	// Validating is being applied onto main and checked.
	Validating State = "validating"
	// Landing passed: main is about to move to Candidate (the intent).
	Landing State = "landing"
	// Landed is on main (terminal).
	Landed State = "landed"
	// Ejected failed a check or conflicts (terminal); Reasons say why.
	Ejected State = "ejected"
	// Removed was taken out by a person (terminal).
	Removed State = "removed"
)

// Terminal reports whether a proposal in s is done with.
func (s State) Terminal() bool { return s == Landed || s == Ejected || s == Removed }

// Reason is the kind of failure that ejected a proposal: metrics count
// ejections by it.
type Reason string

const (
	ReasonSignature  Reason = "signature"   // a commit does not verify against the trust file
	ReasonInvalid    Reason = "invalid"     // the tree does not load: schema or policy compile
	ReasonPolicyTest Reason = "policy-test" // a policy's own test fails
	ReasonAdmission  Reason = "admission"   // the admission policy denies the change
	ReasonConflict   Reason = "conflict"    // the same field changed two ways, or text that cannot merge
	ReasonCheck      Reason = "check"       // an operator's check failed
	ReasonBranch     Reason = "branch"      // the branch is gone or is not a commit
)

// Proposal is one branch in the queue and what happened to it.
type Proposal struct {
	// Seq orders the queue: the order proposals were added in.
	Seq uint64 `json:"seq"`
	// Branch is the branch's short name (queue/web-v2); Head the commit
	// it pointed at when it was added, which is what is validated.
	Branch string    `json:"branch"`
	Head   string    `json:"head"`
	Added  time.Time `json:"added"`
	State  State     `json:"state"`
	Since  time.Time `json:"since"`
	// Reason and Reasons say why it was ejected.
	Reason  Reason   `json:"reason,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
	// Candidate is the commit validated (and landed), Onto the main it
	// was applied on; Method how: fast-forward, merge or field-merge.
	Candidate string `json:"candidate,omitempty"`
	Onto      string `json:"onto,omitempty"`
	Method    string `json:"method,omitempty"`
}

func (p Proposal) String() string {
	return fmt.Sprintf("#%d %s (%s)", p.Seq, p.Branch, short(p.Head))
}

func short(id string) string { return id[:min(12, len(id))] }
