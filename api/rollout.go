package api

import "time"

// RolloutPhase is where a rollout is in its state machine.
type RolloutPhase string

// Rollout phases.
const (
	RolloutCreating  RolloutPhase = "creating"  // new infra-set requested, waiting until healthy
	RolloutCanary    RolloutPhase = "canary"    // the new set serves a step's weight, baking
	RolloutSwitching RolloutPhase = "switching" // traffic moving to the new set
	RolloutSucceeded RolloutPhase = "succeeded"
	RolloutFailed    RolloutPhase = "failed"
	RolloutAbandoned RolloutPhase = "abandoned" // pre-empted by a newer revision
)

// RolloutPhases lists every rollout phase.
var RolloutPhases = []RolloutPhase{RolloutCreating, RolloutCanary, RolloutSwitching, RolloutSucceeded, RolloutFailed, RolloutAbandoned}

// Done reports whether the phase is final.
func (p RolloutPhase) Done() bool {
	return p == RolloutSucceeded || p == RolloutFailed || p == RolloutAbandoned
}

// Rollout is the journaled state machine that moves one release through one
// stage on one target.
type Rollout struct {
	// ID is service/stage/target/release: one rollout per release and place.
	ID          string       `json:"id"`
	Service     string       `json:"service"`
	Stage       string       `json:"stage"`
	Target      string       `json:"target"`
	Release     string       `json:"release"`
	FromRelease string       `json:"fromRelease,omitempty"`
	Revision    string       `json:"revision"`
	Set         string       `json:"set"`
	Phase       RolloutPhase `json:"phase"`
	Rollback    bool         `json:"rollback"`
	Message     string       `json:"message,omitempty"`
	// FailedIn is, for a failed rollout, the attempt it failed in: the
	// revision, or the revision before a run of commits that changed only
	// holds. The release is not started again until another.
	FailedIn string `json:"failedIn,omitempty"`
	// Step counts the canary steps started (0: none yet); StepStartedAt
	// is when the current one started, and StepBase the counters of each
	// set serving then, so that a step is judged on its own traffic.
	Step          int                 `json:"step,omitempty"`
	StepStartedAt time.Time           `json:"stepStartedAt,omitzero"`
	StepBase      map[string]Counters `json:"stepBase,omitempty"`
	// Analysis is the last judgement of the current step, for a person;
	// Signals are its signals, each with the threshold it was held to.
	Analysis string   `json:"analysis,omitempty"`
	Signals  []Signal `json:"signals,omitempty"`
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

// Done reports whether the rollout reached a final phase.
func (r Rollout) Done() bool { return r.Phase.Done() }

// Counters are a set's cumulative request counters at one instant.
type Counters struct {
	Requests     uint64 `json:"requests"`
	ServerErrors uint64 `json:"serverErrors"`
	// Latency is the cumulative latency histogram, when the source has one.
	Latency []LatencyBucket `json:"latency,omitempty"`
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

// Signal is one measure of a canary step's analysis: the canary's value,
// the baseline's (the set serving beside it), the threshold applied (for a
// relative bound, the one worked out from the baseline) and the verdict
// ("pass", "fail", "inconclusive", "none").
type Signal struct {
	Name      string  `json:"name"`
	Canary    float64 `json:"canary"`
	Baseline  float64 `json:"baseline"`
	Threshold float64 `json:"threshold"`
	Verdict   string  `json:"verdict"`
}
