package schema

import (
	"encoding/json"
	"strconv"

	"github.com/durable-delivery/durable/api"
)

// DesiredState is the typed result of loading one revision through the
// schema. Defaults are already applied (they live in the CUE schema).
type DesiredState struct {
	Services map[string]Service `json:"services"`
	Targets  map[string]Target  `json:"targets"`
	Pipeline Pipeline           `json:"pipeline"`
	// Hosts is the fleet's inventory: the hosts whose agents run the
	// targets that name them.
	Hosts map[string]Host `json:"hosts,omitempty"`
}

// Host is one host of the inventory: where its `durable agent` listens.
type Host struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// Service is a deployable unit: one artifact, how to run it, how to check it
// and how to roll it out.
type Service struct {
	Name string `json:"name"`
	// Artifact is an OCI reference pinned by digest: repo@sha256:<64 hex>.
	Artifact string   `json:"artifact"`
	Run      Run      `json:"run"`
	Health   Health   `json:"health"`
	Strategy Strategy `json:"strategy"`
	// Hold pauses the service's rollouts at the next safe point (before a
	// new infra-set, a canary step or a switch); a rollback to a warm
	// release still happens. It is not part of the release.
	Hold bool `json:"hold"`
	// DependsOn are the services this one calls (its upstreams).
	DependsOn []string `json:"dependsOn,omitempty"`
	// SecretsDigest is a keyed digest of the resolved secret values, set
	// by the reconciler, so that a changed secret makes a new release
	// without its value appearing anywhere.
	SecretsDigest string `json:"secretsDigest,omitempty"`
}

// Run says how to run the artifact.
type Run struct {
	Args     []string          `json:"args"`
	Env      map[string]string `json:"env"`
	Port     int               `json:"port"`
	Replicas int               `json:"replicas"`
	// Resources limit each instance, where the runtime can.
	Resources *Resources `json:"resources,omitempty"`
	// SecretEnv sets variables from secrets on the reconciler's host.
	SecretEnv map[string]SecretRef `json:"secretEnv,omitempty"`
}

// SecretRef says where a secret is on the reconciler's host: a file or an
// environment variable of the reconciler (exactly one).
type SecretRef struct {
	File string   `json:"file,omitempty"`
	Env  string   `json:"env,omitempty"`
	Sops *SopsRef `json:"sops,omitempty"`
}

// Sources names the sources r gives ("file", "env", "sops"): a valid
// reference gives exactly one.
func (r SecretRef) Sources() []string {
	var out []string
	for _, s := range []struct {
		name string
		set  bool
	}{{"file", r.File != ""}, {"env", r.Env != ""}, {"sops", r.Sops != nil}} {
		if s.set {
			out = append(out, s.name)
		}
	}
	return out
}

// SopsRef is one value of a SOPS-encrypted file of the repository.
type SopsRef struct {
	// File is the file's path from the repository root.
	File string `json:"file"`
	// Key is the value's key, dotted for nested keys.
	Key string `json:"key"`
	// Ciphertext is the encrypted file as the revision holds it, read by
	// the loader. It is not part of the release id (re-encrypting the same
	// values makes no new release) and is never shown.
	Ciphertext []byte `json:"-"`
}

// Resources are the limits of one instance.
type Resources struct {
	CPUs float64 `json:"cpus,omitempty"`
	// Memory is a size such as "256Mi" (Ki, Mi and Gi: powers of 1024).
	Memory string `json:"memory,omitempty"`
}

// MemoryBytes is Memory in bytes (0 when unset).
func (r *Resources) MemoryBytes() int64 {
	if r == nil || len(r.Memory) < 3 {
		return 0
	}
	n, err := strconv.ParseInt(r.Memory[:len(r.Memory)-2], 10, 64)
	if err != nil {
		return 0
	}
	switch r.Memory[len(r.Memory)-2:] {
	case "Ki":
		return n << 10
	case "Mi":
		return n << 20
	case "Gi":
		return n << 30
	}
	return 0
}

// Health is the HTTP check every instance must pass.
type Health struct {
	Path         string   `json:"path"`
	ExpectStatus int      `json:"expectStatus"`
	Interval     Duration `json:"interval"`
	Timeout      Duration `json:"timeout"`
	// StartPeriod is how long a new instance may take to start; zero when
	// not declared.
	StartPeriod Duration `json:"startPeriod,omitzero"`
}

// Strategy kinds.
// Warm modes.
const (
	WarmFull    = "full"
	WarmMinimal = "minimal"
)

const (
	BlueGreen = "blueGreen"
	Canary    = "canary"
)

// Strategy says how a new release replaces the running one.
type Strategy struct {
	// Kind is BlueGreen (switch all traffic once healthy) or Canary.
	Kind string `json:"kind"`
	// Steps and Analysis are a canary's: the new set gets each step's
	// weight in turn, baked and analysed, then all of the traffic.
	Steps    []CanaryStep `json:"steps,omitempty"`
	Analysis *Analysis    `json:"analysis,omitempty"`
	// Preview is a blue/green's: the new set is routed alone as service
	// "<name>-preview" from healthy until the switch.
	Preview bool `json:"preview,omitempty"`
	// KeepWarm is how many previous infra-sets stay running and routable so
	// that a rollback is a traffic switch.
	KeepWarm int `json:"keepWarm"`
	// WarmMode is WarmFull or WarmMinimal: how many instances a set kept
	// warm keeps running.
	WarmMode string `json:"warmMode"`
	// ProgressDeadline bounds how long a new infra-set may take to become
	// healthy before the release is marked failed on that target.
	ProgressDeadline Duration `json:"progressDeadline"`
}

// CanaryStep is one weighted step of a canary.
type CanaryStep struct {
	Weight int  `json:"weight"`
	Bake   Bake `json:"bake"`
	// Analysis, when set, judges this step instead of the strategy's.
	Analysis *Analysis `json:"analysis,omitempty"`
}

// StepAnalysis is the analysis that judges canary step i (0-based): the
// step's own, or the strategy's.
func (s Strategy) StepAnalysis(i int) *Analysis {
	if i >= 0 && i < len(s.Steps) && s.Steps[i].Analysis != nil {
		return s.Steps[i].Analysis
	}
	return s.Analysis
}

// Bake is how long and how much a step must serve: both must be reached.
type Bake struct {
	Time     Duration `json:"time"`
	Requests uint64   `json:"requests"`
}

// Analysis judges a canary step from per-set metrics.
type Analysis struct {
	MaxErrorRate         float64 `json:"maxErrorRate"`
	MaxErrorRateIncrease float64 `json:"maxErrorRateIncrease"`
	MinRequests          uint64  `json:"minRequests"`
	// MaxLatencyIncrease bounds the canary's p90 latency as a multiple of
	// the baseline's; MaxLatencyP90, when set, bounds it absolutely.
	MaxLatencyIncrease float64   `json:"maxLatencyIncrease"`
	MaxLatencyP90      *Duration `json:"maxLatencyP90,omitempty"`
	// Prometheus adds PromQL queries to the judgement, when set.
	Prometheus *PrometheusAnalysis `json:"prometheus,omitempty"`
}

// PrometheusAnalysis is a Prometheus server and the queries that judge a
// canary step there.
type PrometheusAnalysis struct {
	Address string      `json:"address"`
	Queries []PromQuery `json:"queries"`
}

// PromQuery is one templated PromQL query and the most the canary may give.
type PromQuery struct {
	Name  string  `json:"name"`
	Query string  `json:"query"`
	Max   float64 `json:"max"`
}

// Target is a place to run: a runtime adapter, a traffic adapter and a zone.
type Target struct {
	Name string `json:"name"`
	Zone string `json:"zone"`
	// Host names the inventory's host whose agent runs the target; empty,
	// the reconciler's own host does.
	Host    string  `json:"host,omitempty"`
	Runtime Adapter `json:"runtime"`
	Traffic Adapter `json:"traffic"`
}

// Adapter names an adapter kind and carries its configuration, which the
// adapter decodes strictly itself.
type Adapter struct {
	Kind   string
	Config json.RawMessage
}

// UnmarshalJSON keeps the whole object (kind included) as the adapter's
// configuration, less the kind field.
func (a *Adapter) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if k, ok := m["kind"]; ok {
		if err := json.Unmarshal(k, &a.Kind); err != nil {
			return err
		}
		delete(m, "kind")
	}
	cfg, err := json.Marshal(m)
	if err != nil {
		return err
	}
	a.Config = cfg
	return nil
}

// MarshalJSON writes the adapter back as one object with its kind.
func (a Adapter) MarshalJSON() ([]byte, error) {
	m := map[string]json.RawMessage{}
	if len(a.Config) > 0 {
		if err := json.Unmarshal(a.Config, &m); err != nil {
			return nil, err
		}
	}
	k, _ := json.Marshal(a.Kind)
	m["kind"] = k
	return json.Marshal(m)
}

// Pipeline is the ordered list of stages a release passes through.
type Pipeline struct {
	Stages []Stage `json:"stages"`
}

// Stage is one step of the pipeline.
type Stage struct {
	Name    string   `json:"name"`
	Targets []string `json:"targets"`
	// Parallelism is how many zones of a service roll out at once.
	Parallelism int `json:"parallelism"`
	// UpgradeDowngradeTest checks new → old → new before traffic moves.
	UpgradeDowngradeTest bool `json:"upgradeDowngradeTest"`
	// Bake holds a release in the stage before the next stage may start it.
	Bake *StageBake `json:"bake,omitempty"`
	// Gate holds a release before it enters the stage until it is approved.
	Gate *StageGate `json:"gate,omitempty"`
}

// StageBake is a stage's bake rule: both must be reached.
type StageBake struct {
	Time     Duration `json:"time,omitzero"`
	Requests uint64   `json:"requests"`
}

// StageGate is what a release needs before it enters a stage.
type StageGate struct {
	Approvals int  `json:"approvals"`
	Signed    bool `json:"signed"`
}

// Duration is a time.Duration written in CUE as a Go duration string ("5s"):
// the wire model's, so that views of the desired state need no conversion.
type Duration = api.Duration
