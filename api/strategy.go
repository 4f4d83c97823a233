package api

// StrategyView is a service's rollout strategy as the applied revision
// declares it: a canary's steps with the goals each bakes to and the
// analysis thresholds applied at each, so that a person reads a step's
// progress against the rule that judges it.
type StrategyView struct {
	// Kind is "canary" or "blueGreen".
	Kind     string `json:"kind"`
	KeepWarm int    `json:"keepWarm"`
	// Steps are a canary's, in order; a rollout's Step counts them from 1.
	Steps []StepGoal `json:"steps,omitempty"`
}

// StepGoal is one canary step: its weight, the bake it must reach (time
// and requests, both) and the thresholds its analysis applies.
type StepGoal struct {
	Weight       int      `json:"weight"`
	BakeTime     Duration `json:"bakeTime"`
	BakeRequests uint64   `json:"bakeRequests"`
	// Analysis is the step's own analysis, else the strategy's; nil when
	// the step is judged by its bake alone.
	Analysis *Thresholds `json:"analysis,omitempty"`
}

// Thresholds are what a canary step's analysis allows.
type Thresholds struct {
	MaxErrorRate         float64 `json:"maxErrorRate"`
	MaxErrorRateIncrease float64 `json:"maxErrorRateIncrease"`
	// MinRequests is how many requests the step must serve before it is
	// judged.
	MinRequests        uint64    `json:"minRequests"`
	MaxLatencyIncrease float64   `json:"maxLatencyIncrease,omitempty"`
	MaxLatencyP90      *Duration `json:"maxLatencyP90,omitempty"`
	// Queries are the Prometheus queries judged, by name, with the most
	// each may give.
	Queries []QueryThreshold `json:"queries,omitempty"`
}

// QueryThreshold is one Prometheus query of an analysis and its bound.
type QueryThreshold struct {
	Name string  `json:"name"`
	Max  float64 `json:"max"`
}
