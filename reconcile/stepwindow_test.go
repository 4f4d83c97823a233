package reconcile

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/schema"
)

// countingTraffic is fakeTraffic with per-set cumulative counters that,
// like the router's, outlive a set's route: a set id made again counts on
// from where its last incarnation stopped.
type countingTraffic struct {
	*fakeTraffic
	mu       sync.Mutex
	counters map[string]adapters.SetMetrics
	// down is a set whose counters cannot be read, once.
	down string
}

func (c *countingTraffic) SetMetrics(_ context.Context, _, set string) (adapters.SetMetrics, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if set == c.down {
		c.down = ""
		return adapters.SetMetrics{}, fmt.Errorf("fake: metrics of %s: injected failure: %w", set, adapters.ErrUnavailable)
	}
	m, ok := c.counters[set]
	if !ok {
		return m, fmt.Errorf("fake: no metrics for %s: %w", set, adapters.ErrNotFound)
	}
	return m, nil
}

func (c *countingTraffic) serve(set string, requests, errors uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.counters[set]
	m.Requests += requests
	m.ServerErrors += errors
	c.counters[set] = m
}

// TestStepJudgesOnlyItsOwnTraffic rolls a release out as a canary whose
// first incarnation fails on errors and is rolled back; a new revision
// makes its infra-set again, under the same id, whose counters on the
// traffic adapter go on from the first incarnation's. The new step is
// judged on what it served since it started, and status shows that window
// beside the cumulative counters.
// canaryHarness is the harness on a traffic adapter that counts per set,
// and a maker of services whose canary is one step of 10%, baked and
// analysed as given.
func canaryHarness(t *testing.T, bake schema.Bake, an schema.Analysis) (*harness, *countingTraffic, func(digit string) schema.Service) {
	h := newHarness(t)
	tr := &countingTraffic{fakeTraffic: h.tr, counters: map[string]adapters.SetMetrics{}}
	h.r.targets.traffics[adapterKey(h.target, h.target.Traffic)] = tr
	return h, tr, func(digit string) schema.Service {
		svc := h.service(digit, schema.Health{})
		analysis := an
		svc.Strategy = schema.Strategy{Kind: schema.Canary, KeepWarm: 1, ProgressDeadline: svc.Strategy.ProgressDeadline,
			Steps: []schema.CanaryStep{{Weight: 10, Bake: bake}}, Analysis: &analysis}
		return svc
	}
}

func TestStepJudgesOnlyItsOwnTraffic(t *testing.T) {
	ctx := context.Background()
	h, tr, canary := canaryHarness(t, schema.Bake{Requests: 50},
		schema.Analysis{MaxErrorRate: 0.05, MaxErrorRateIncrease: 0.05, MinRequests: 20, MaxLatencyIncrease: 2})
	// The first incarnation: 300 requests, all 5xx, rolled back.
	v2, set1, set2 := atStepOne(ctx, h, canary)
	if w := h.tr.weight(set2); w != 10 {
		t.Fatalf("v2's first canary has weight %d", w)
	}
	tr.serve(set2, 300, 300)
	tr.serve(set1, 300, 0)
	h.pass(ctx, v2, "c2") // judged: failed, rolled back, collected
	rec, err := h.st.Rollout(ctx, h.placement(v2, "c2").rolloutID(v2.ReleaseID()))
	if err != nil || rec.Phase != api.RolloutFailed {
		t.Fatalf("the first canary: %+v, %v", rec, err)
	}
	for range 2 {
		h.pass(ctx, v2, "c2")
	}
	if s, err := h.st.InfraSet(ctx, set2); err != nil || s.State != api.SetRemoved {
		t.Fatalf("the failed set: %+v, %v", s, err)
	}

	// The re-release, at a new revision: the same set id, its counters at
	// 300. When the step is to start, its counters cannot be read once: the
	// step waits for them rather than count from zero.
	h.pass(ctx, v2, "c3") // created
	tr.down = set2
	if _, err := h.r.converge(ctx, h.placement(v2, "c3")); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("a step started without its counters: %v", err)
	}
	if w := h.tr.weight(set2); w != 0 {
		t.Fatalf("v2's canary took weight %d without the counters its step starts from", w)
	}
	h.pass(ctx, v2, "c3") // step 1
	if w := h.tr.weight(set2); w != 10 {
		t.Fatalf("v2's second canary has weight %d", w)
	}
	tr.serve(set2, 30, 0)
	tr.serve(set1, 270, 0)
	rec, err = h.st.Rollout(ctx, h.placement(v2, "c3").rolloutID(v2.ReleaseID()))
	if err != nil {
		t.Fatal(err)
	}
	rec.UpdatedAt = rec.UpdatedAt.Add(-time.Minute) // noteAnalysis writes at most once a second
	if err := h.st.PutRollout(ctx, rec); err != nil {
		t.Fatal(err)
	}
	h.pass(ctx, v2, "c3")
	rec, err = h.st.Rollout(ctx, rec.ID)
	if err != nil || rec.Phase != api.RolloutCanary || !strings.Contains(rec.Analysis, "canary 0/30 errors") {
		t.Fatalf("the second canary, after 30 good requests: %+v, %v", rec, err)
	}
	// Status as the reconciler serves it: the journal's placement, with
	// what it last observed.
	st := api.Status{Services: []api.ServiceStatus{{Name: "web", Placements: []api.PlacementStatus{
		{Stage: "s", Target: "t", Sets: []api.SetStatus{{ID: set1}, {ID: set2}}, Rollout: &rec}}}}}
	h.r.observed.addTo(&st)
	got := &st.Services[0].Placements[0].Sets[1]
	if got.Metrics == nil || got.Metrics.Requests != 330 || got.Step == nil || got.Step.Requests != 30 || got.Step.ServerErrors != 0 {
		t.Fatalf("status of the second canary: %+v", got)
	}

	tr.serve(set2, 30, 0)
	tr.serve(set1, 270, 0)
	h.pass(ctx, v2, "c3") // baked on 60 good requests: promoted
	if w := h.tr.weight(set2); w != 100 {
		t.Fatalf("v2 passed its step on its own traffic but has weight %d: %+v", w, rec)
	}
}
