package api

// Plan is what a revision would do against what runs now: durable plan's
// answer, computed by the reconciler's own load, classification and
// admission.
type Plan struct {
	// Revision is the commit planned; Against the applied revision it is
	// compared with (empty before the first).
	Revision PlanRevision `json:"revision"`
	Against  string       `json:"against,omitempty"`
	// Changed is false when the revision would change nothing that runs.
	Changed bool `json:"changed"`
	// Classes are the change classes (app, infra, control); Rollback is
	// true when every changed service goes back to a warm release.
	Classes  []string `json:"classes"`
	Rollback bool     `json:"rollback"`
	// Errors are the revision's problems, each positioned
	// (file:line:col: path: message) where it has a place: a revision
	// that does not load is rejected, and nothing else is planned.
	Errors []string `json:"errors,omitempty"`
	// Admission is durable.admission's verdict on the revision.
	Admission PlanAdmission `json:"admission"`
	// Services are the services the revision adds, removes or changes.
	Services []PlanServiceChange `json:"services"`
	// Stages are, in pipeline order, what each stage would do; Removed are
	// the placements the revision no longer has (their sets go).
	Stages  []PlanStage     `json:"stages"`
	Removed []PlanPlacement `json:"removed,omitempty"`
}

// PlanRevision names the commit planned.
type PlanRevision struct {
	Commit  string `json:"commit"`
	Message string `json:"message"`
}

// PlanAdmission is an admission verdict: allow or deny, by which policy,
// and why.
type PlanAdmission struct {
	Result  string   `json:"result"`
	Policy  string   `json:"policy,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
}

// PlanServiceChange is how one service changes: added, removed or
// changed, in which classes and fields, from which release to which.
type PlanServiceChange struct {
	Name     string   `json:"name"`
	Change   string   `json:"change"`
	Classes  []string `json:"classes"`
	Fields   []string `json:"fields"`
	From     string   `json:"from,omitempty"`
	To       string   `json:"to,omitempty"`
	Rollback bool     `json:"rollback"`
}

// PlanStage is what one stage would do, and what it waits for first.
type PlanStage struct {
	Name string `json:"name"`
	// Waits are the stage's conditions before a release enters it: the
	// stage before serving and baking it, a gate's approvals.
	Waits      []string        `json:"waits,omitempty"`
	Placements []PlanPlacement `json:"placements"`
}

// PlanPlacement is what one service on one target of a stage would do.
type PlanPlacement struct {
	Service string `json:"service"`
	Stage   string `json:"stage"`
	Target  string `json:"target"`
	// Serving is the release served now (empty: none); Release the one
	// it would serve.
	Serving string `json:"serving,omitempty"`
	Release string `json:"release,omitempty"`
	// Create are the infra-sets to create; SwitchBack a warm set that
	// serves again instead (a rollback).
	Create     []string `json:"create"`
	SwitchBack string   `json:"switchBack,omitempty"`
	// Steps are the traffic steps the strategy takes, in order.
	Steps []PlanStep `json:"steps"`
	// KeepWarm are the sets kept warm after the switch; Remove those
	// removed (warm beyond keepWarm, failed, never served).
	KeepWarm []string `json:"keepWarm"`
	Remove   []string `json:"remove"`
}

// Rejected reports whether the reconciler would reject the revision: it
// does not load, or admission does not allow it.
func (p Plan) Rejected() bool { return len(p.Errors) > 0 || p.Admission.Result != "allow" }

// Changed reports whether the placement would do anything.
func (p PlanPlacement) Changed() bool {
	return len(p.Create) > 0 || p.SwitchBack != "" || len(p.Steps) > 0 || len(p.Remove) > 0
}

// PlanStepKind is a kind of traffic step.
type PlanStepKind string

// Traffic steps a rollout takes.
const (
	StepCheck   PlanStepKind = "upgradeDowngradeTest" // new → old → new before traffic moves
	StepPreview PlanStepKind = "preview"              // the new set routed alone as SERVICE-preview
	StepCanary  PlanStepKind = "canary"               // the new set serves Weight percent, baked
	StepSwitch  PlanStepKind = "switch"               // all of the traffic to the new (or warm) set
)

// PlanStep is one traffic step: a canary's weight and bake, or the switch.
type PlanStep struct {
	Kind   PlanStepKind `json:"kind"`
	Weight int          `json:"weight"`
	// Bake is how long and how many requests a canary step must serve.
	Bake     Duration `json:"bake,omitzero"`
	Requests uint64   `json:"requests,omitempty"`
}
