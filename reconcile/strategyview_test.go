package reconcile

import (
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/schema"
)

// Each step shows the analysis that judges it: its own where it has one,
// else the strategy's.
func TestStrategyViewShowsTheThresholdsEachStepApplies(t *testing.T) {
	p90 := api.Duration{Duration: 300 * time.Millisecond}
	s := schema.Strategy{Kind: schema.Canary, KeepWarm: 1,
		Analysis: &schema.Analysis{MaxErrorRate: 0.01, MinRequests: 20},
		Steps: []schema.CanaryStep{
			{Weight: 10, Bake: schema.Bake{Time: api.Duration{Duration: 2 * time.Second}, Requests: 50}},
			{Weight: 50, Bake: schema.Bake{Requests: 100}, Analysis: &schema.Analysis{MaxErrorRate: 0.05, MaxLatencyP90: &p90,
				Prometheus: &schema.PrometheusAnalysis{Queries: []schema.PromQuery{{Name: "p99", Query: "q", Max: 0.5}}}}},
		}}
	v := strategyView(s)
	if v.Kind != schema.Canary || v.KeepWarm != 1 || len(v.Steps) != 2 {
		t.Fatalf("view %+v", v)
	}
	first, second := v.Steps[0], v.Steps[1]
	if first.Weight != 10 || first.BakeTime.Duration != 2*time.Second || first.BakeRequests != 50 || first.Analysis == nil || first.Analysis.MaxErrorRate != 0.01 || first.Analysis.MinRequests != 20 {
		t.Errorf("step 1 %+v (analysis %+v): want the strategy's analysis", first, first.Analysis)
	}
	if second.Analysis == nil || second.Analysis.MaxErrorRate != 0.05 || second.Analysis.MaxLatencyP90 == nil || len(second.Analysis.Queries) != 1 || second.Analysis.Queries[0].Max != 0.5 {
		t.Errorf("step 2 analysis %+v: want the step's own", second.Analysis)
	}
	if bg := strategyView(schema.Strategy{Kind: schema.BlueGreen}); len(bg.Steps) != 0 {
		t.Errorf("blue/green view %+v has steps", bg)
	}
}
