package api

import "time"

// BakeView is a stage's bake rule and how far the release the stage
// promoted has baked there.
type BakeView struct {
	// Time and Requests are the rule: both must be reached.
	Time     Duration `json:"time"`
	Requests uint64   `json:"requests"`
	// Release is the release baking, or baked, in the stage; "" when the
	// stage promoted none that the next stage has not taken yet.
	Release   string    `json:"release,omitempty"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	// Elapsed is how long it has baked (until DoneAt once done).
	Elapsed Duration `json:"elapsed"`
	// Served is what its sets served since the bake started: known once
	// done, or from a running reconciler.
	Served uint64    `json:"served"`
	Done   bool      `json:"done"`
	DoneAt time.Time `json:"doneAt,omitzero"`
}

// GateView is a stage's gate and how far the release next to enter the
// stage (or, when none waits, the release it serves) is approved.
type GateView struct {
	// Approvals and Signed are the rule.
	Approvals int    `json:"approvals"`
	Signed    bool   `json:"signed"`
	Release   string `json:"release,omitempty"`
	// Approvers are those who count towards the rule.
	Approvers []string `json:"approvers"`
	// Approve is the command that adds an approval, while one is missing.
	Approve string `json:"approve,omitempty"`
}
