package policy

import (
	"encoding/json"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/schema"
)

// APIVersion is the version of every input document. A field is only ever
// added within a version; a change of meaning makes a new version.
const APIVersion = "durable.dev/policy/v1"

// Now is the decision's clock, given to the policy so that the policy never
// reads time itself: the same input always gives the same decision.
type Now struct {
	// RFC3339 is the time in the configured timezone, with its offset.
	RFC3339 string `json:"rfc3339"`
	// UnixNano is the same instant in nanoseconds, for time.* built-ins.
	UnixNano int64 `json:"unixNano"`
	// Timezone is the IANA name of the configured timezone ("UTC" by default).
	Timezone string `json:"timezone"`
	// Weekday ("Monday"…), Hour (0–23), Minute and Date ("2006-01-02") are
	// the local clock in that timezone, for freeze windows.
	Weekday string `json:"weekday"`
	Hour    int    `json:"hour"`
	Minute  int    `json:"minute"`
	Date    string `json:"date"`
}

// NowIn builds the clock of a decision taken at t in loc.
func NowIn(t time.Time, loc *time.Location) Now {
	if loc == nil {
		loc = time.UTC
	}
	l := t.In(loc)
	return Now{RFC3339: l.Format(time.RFC3339Nano), UnixNano: t.UnixNano(), Timezone: loc.String(),
		Weekday: l.Weekday().String(), Hour: l.Hour(), Minute: l.Minute(), Date: l.Format(time.DateOnly)}
}

// Person is a commit's author.
type Person struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Signer is the verified signer of a commit. It is null until the commit's
// signature is verified against the host's trust configuration.
type Signer struct {
	// Identity is the key's owner as the trust file names it.
	Identity string `json:"identity"`
	// Method is "openpgp" or "ssh"; Key the key's fingerprint.
	Method string `json:"method"`
	Key    string `json:"key"`
}

// Commit is the commit a revision comes from.
type Commit struct {
	ID      string    `json:"id"`
	Message string    `json:"message"`
	Author  Person    `json:"author"`
	Time    time.Time `json:"time"`
	Signer  *Signer   `json:"signer"`
	// Trailers are the "Key: value" lines of the message's last paragraph.
	Trailers map[string][]string `json:"trailers"`
}

// Approval approves one release for one stage. Approvals are files in the
// desired-state repository (see docs/policy.md), so granting one is a commit
// and revoking one is a revert.
type Approval struct {
	Release string `json:"release"`
	Stage   string `json:"stage"`
	// By and Reason are as written in the approval file.
	By     string `json:"by"`
	Reason string `json:"reason"`
	File   string `json:"file"`
	// Commit is the first revision the reconciler saw with this approval;
	// Author and Signer are that commit's.
	Commit string  `json:"commit"`
	Author Person  `json:"author"`
	Signer *Signer `json:"signer"`
	// Verified is true when Signer is set: the approval's commit is signed
	// by a key the host trusts.
	Verified bool `json:"verified"`
}

// Artifact is what the host's trust says of one service's artifact.
type Artifact struct {
	Ref string `json:"ref"`
	// Verified is true when its signature was verified against the host's
	// trust file (always, unless the reconciler runs without one).
	Verified bool `json:"verified"`
	// Signer names the key that signed it; Format is "cosign-sig" or
	// "sigstore-bundle".
	Signer *Signer `json:"signer"`
	Format string  `json:"format"`
	// Attestations are the verified in-toto statements the trust requires.
	Attestations []ArtifactAttestation `json:"attestations"`
}

// ArtifactAttestation is one verified attestation of an artifact.
type ArtifactAttestation struct {
	PredicateType string          `json:"predicateType"`
	Statement     json.RawMessage `json:"statement"`
}

// AdmissionInput is the input of durable.admission, asked once per revision.
type AdmissionInput struct {
	APIVersion string        `json:"apiVersion"`
	Entry      string        `json:"entry"`
	Now        Now           `json:"now"`
	Commit     Commit        `json:"commit"`
	Change     schema.Change `json:"change"`
	// Old and New are the applied desired state (null before the first)
	// and the revision's, prepared once per revision (Prepared).
	Old       *Prepared[schema.DesiredState] `json:"old"`
	New       *Prepared[schema.DesiredState] `json:"new"`
	Approvals []Approval                     `json:"approvals"`
	// Artifacts maps each service to what the trust says of its artifact.
	Artifacts map[string]Artifact `json:"artifacts"`
}

// GateStage is the stage a gate is asked about.
type GateStage struct {
	Name string `json:"name"`
	// Index is the stage's position in the pipeline, from 0.
	Index   int      `json:"index"`
	Targets []string `json:"targets"`
}

// GateRelease is the release a gate is asked about.
type GateRelease struct {
	ID       string `json:"id"`
	Artifact string `json:"artifact"`
	// Revision is the commit that declared the release.
	Revision string `json:"revision"`
	// From is the release serving now on the target ("" for the first).
	From string `json:"from"`
	// Rollback is true when the release is still warm: promoting it is a
	// traffic switch back.
	Rollback bool `json:"rollback"`
}

// Step kinds.
const (
	StepEnter   = "enter"   // the release is about to enter the stage (its infra-set is created)
	StepPromote = "promote" // traffic is about to move to Weight
)

// GateStep is the step of the rollout the gate is asked to allow.
type GateStep struct {
	Kind string `json:"kind"`
	// Index counts the steps of the strategy from 0; Count is how many
	// there are (blue/green has one: the switch).
	Index int `json:"index"`
	Count int `json:"count"`
	// Weight is the percentage of traffic the release gets if allowed.
	Weight int `json:"weight"`
}

// Bake is how long and how much the release has served at its current step.
type Bake struct {
	ElapsedSeconds float64 `json:"elapsedSeconds"`
	Requests       uint64  `json:"requests"`
	ServerErrors   uint64  `json:"serverErrors"`
}

// Analysis is the verdict of the health signals on the release's step.
type Analysis struct {
	// Verdict is "pass", "fail", "inconclusive" (not enough data) or
	// "none" (no analysis configured for this step).
	Verdict string   `json:"verdict"`
	Signals []Signal `json:"signals"`
}

// Signal is one health signal compared between the release (canary) and the
// set serving beside it (baseline).
type Signal struct {
	Name      string  `json:"name"`
	Canary    float64 `json:"canary"`
	Baseline  float64 `json:"baseline"`
	Threshold float64 `json:"threshold"`
	Verdict   string  `json:"verdict"`
}

// StageState is what one stage of a service runs, for a gate to look at.
type StageState struct {
	// Serving maps each target of the stage to the release serving there.
	Serving map[string]string `json:"serving"`
	// InFlight maps each target with a rollout in flight to its release.
	InFlight map[string]string `json:"inFlight"`
}

// GateInput is the input of durable.gate, asked before a release enters a
// stage and before each step of traffic is promoted.
type GateInput struct {
	APIVersion string      `json:"apiVersion"`
	Entry      string      `json:"entry"`
	Now        Now         `json:"now"`
	Service    string      `json:"service"`
	Stage      GateStage   `json:"stage"`
	Target     string      `json:"target"`
	Zone       string      `json:"zone"`
	Release    GateRelease `json:"release"`
	Step       GateStep    `json:"step"`
	Bake       Bake        `json:"bake"`
	Analysis   Analysis    `json:"analysis"`
	// Strategy is the service's strategy as declared.
	Strategy schema.Strategy `json:"strategy"`
	// Stages maps every stage of the pipeline to what this service runs there.
	Stages map[string]StageState `json:"stages"`
	// Approvals are the approvals of this release (any stage).
	Approvals []Approval `json:"approvals"`
	// Unreachable is how long the target could not be reached while the
	// release was at its current step.
	Unreachable Unreachable `json:"unreachable"`
}

// Unreachable is a target's outages during a rollout's step: its
// adapters (an agent cut off, a router down) answered that they could not
// be reached. The rollout held meanwhile, and the time did not count
// against its progress deadline; the gate decides whether such a hold
// becomes a failure.
type Unreachable struct {
	// Seconds the target was unreachable since the step started.
	Seconds float64 `json:"seconds"`
}

// Action is what the reconciler is about to do.
type Action struct {
	Kind    api.Action `json:"kind"`
	Service string     `json:"service"`
	Stage   string     `json:"stage"`
	Target  string     `json:"target"`
	Set     string     `json:"set"`
	Release string     `json:"release"`
	// Weights is the split a set-split applies: infra-set id → percent.
	Weights map[string]int `json:"weights,omitempty"`
	// Rollback is true when the action moves traffic back to a warm set.
	Rollback bool `json:"rollback"`
}

// FleetSet is one infra-set in a fleet snapshot.
type FleetSet struct {
	ID      string `json:"id"`
	Release string `json:"release"`
	// State is the journal's: creating, ready, serving, warm, failed,
	// removing.
	State api.SetState `json:"state"`
	// Weight is the percentage of the placement's traffic it receives.
	Weight int `json:"weight"`
	// Healthy counts instances passing the health check; Desired is the
	// release's replicas.
	Healthy int `json:"healthy"`
	Desired int `json:"desired"`
}

// FleetPlacement is one service on one target.
type FleetPlacement struct {
	Stage  string `json:"stage"`
	Target string `json:"target"`
	Zone   string `json:"zone"`
	// InFlight is true while a rollout is under way there.
	InFlight bool       `json:"inFlight"`
	Sets     []FleetSet `json:"sets"`
}

// FleetService is one service across its placements.
type FleetService struct {
	// Replicas is the desired replicas of the service; KeepWarm how many
	// previous sets it keeps warm.
	Replicas   int              `json:"replicas"`
	KeepWarm   int              `json:"keepWarm"`
	Placements []FleetPlacement `json:"placements"`
}

// Fleet is every service on every target. Each service is prepared
// (Prepared): a fleet is asked about before every action, and an action
// changes one service, so the others' text and value are reused from the
// fleet before it.
type Fleet struct {
	Services map[string]*Prepared[FleetService] `json:"services"`
}

// PrepareFleet is the fleet of services, each prepared.
func PrepareFleet(services map[string]FleetService) (Fleet, error) {
	f := Fleet{Services: make(map[string]*Prepared[FleetService], len(services))}
	for name, svc := range services {
		p, err := Prepare(&svc)
		if err != nil {
			return Fleet{}, err
		}
		f.Services[name] = p
	}
	return f, nil
}

// InvariantInput is the input of durable.invariant, asked before every
// action with the fleet as it is and as it would be after the action.
type InvariantInput struct {
	APIVersion string `json:"apiVersion"`
	Entry      string `json:"entry"`
	Now        Now    `json:"now"`
	Action     Action `json:"action"`
	Before     Fleet  `json:"before"`
	After      Fleet  `json:"after"`
}
