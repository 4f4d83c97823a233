package reconcile

import (
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// strategyView is a service's strategy as the status shows it: each canary
// step's goals and the analysis thresholds the rollout applies there.
func strategyView(s schema.Strategy) *api.StrategyView {
	v := &api.StrategyView{Kind: s.Kind, KeepWarm: s.KeepWarm}
	for i, step := range s.Steps {
		v.Steps = append(v.Steps, api.StepGoal{Weight: step.Weight, BakeTime: step.Bake.Time, BakeRequests: step.Bake.Requests,
			Analysis: thresholds(s.StepAnalysis(i))})
	}
	return v
}

func thresholds(a *schema.Analysis) *api.Thresholds {
	if a == nil {
		return nil
	}
	t := &api.Thresholds{MaxErrorRate: a.MaxErrorRate, MaxErrorRateIncrease: a.MaxErrorRateIncrease, MinRequests: a.MinRequests,
		MaxLatencyIncrease: a.MaxLatencyIncrease, MaxLatencyP90: a.MaxLatencyP90}
	if a.Prometheus != nil {
		for _, q := range a.Prometheus.Queries {
			t.Queries = append(t.Queries, api.QueryThreshold{Name: q.Name, Max: q.Max})
		}
	}
	return t
}

// apiSignals are a step's analysis signals as the rollout records them.
func apiSignals(in []policy.Signal) []api.Signal {
	out := make([]api.Signal, 0, len(in))
	for _, s := range in {
		out = append(out, api.Signal{Name: s.Name, Canary: s.Canary, Baseline: s.Baseline, Threshold: s.Threshold, Verdict: s.Verdict})
	}
	return out
}
