package reconcile

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/schema"
)

// stepsHarness is the canary harness with steps of the given weights, each
// baked on 10 requests and analysed on at least 5.
func stepsHarness(t *testing.T, weights ...int) (*harness, *countingTraffic, func(digit string) schema.Service) {
	h, tr, canary := canaryHarness(t, schema.Bake{Requests: 10}, schema.Analysis{MaxErrorRate: 0.05, MaxErrorRateIncrease: 0.05, MinRequests: 5})
	return h, tr, func(digit string) schema.Service {
		svc := canary(digit)
		svc.Strategy.Steps = nil
		for _, w := range weights {
			svc.Strategy.Steps = append(svc.Strategy.Steps, schema.CanaryStep{Weight: w, Bake: schema.Bake{Requests: 10}})
		}
		return svc
	}
}

// atStepOne serves v1 of the service canary makes, then takes v2 to its
// first canary step; it returns v2 and both sets.
func atStepOne(ctx context.Context, h *harness, canary func(digit string) schema.Service) (v2 schema.Service, set1, set2 string) {
	v1 := canary("a")
	v2 = canary("b")
	set1, set2 = infraSetID("web", "t", v1.ReleaseID()), infraSetID("web", "t", v2.ReleaseID())
	h.serve(ctx, v1, "c1")
	h.pass(ctx, v2, "c2") // created
	h.pass(ctx, v2, "c2") // step 1
	return v2, set1, set2
}

// ageRollout moves the rollout's last write a minute back: noteAnalysis
// writes at most once a second.
func ageRollout(t *testing.T, h *harness, id string) {
	t.Helper()
	rec, err := h.st.Rollout(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	rec.UpdatedAt = rec.UpdatedAt.Add(-time.Minute)
	if err := h.st.PutRollout(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
}

// TestEveryCanaryStepIsTakenInOrder: a canary of three steps takes each
// weight in turn, one step per judgement that passes, and only then all
// of the traffic.
func TestEveryCanaryStepIsTakenInOrder(t *testing.T) {
	ctx := context.Background()
	h, tr, canary := stepsHarness(t, 10, 50, 75)
	v2, set1, set2 := atStepOne(ctx, h, canary)
	for _, want := range []int{10, 50, 75, 100} {
		if w := h.tr.weight(set2); w != want {
			t.Fatalf("v2 has weight %d; want %d, each step in turn", w, want)
		}
		tr.serve(set2, 20, 0)
		tr.serve(set1, 20, 0)
		h.pass(ctx, v2, "c2")
	}
}

// TestCanaryRestartTakesTheRecordedStepAgain: a restart that finds the
// rollout at step 2 and the set not yet a canary (the crash came between
// the two writes) takes step 2 again from its start, at its weight.
func TestCanaryRestartTakesTheRecordedStepAgain(t *testing.T) {
	ctx := context.Background()
	h, _, canary := stepsHarness(t, 10, 50, 75)
	v1, v2 := canary("a"), canary("b")
	set2 := infraSetID("web", "t", v2.ReleaseID())
	h.serve(ctx, v1, "c1")
	h.pass(ctx, v2, "c2") // created, not yet a canary
	id := h.placement(v2, "c2").rolloutID(v2.ReleaseID())
	rec, err := h.st.Rollout(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := h.st.InfraSet(ctx, set2); err != nil || s.State == api.SetCanary {
		t.Fatalf("the new set before its first step: %+v, %v", s, err)
	}
	rec.Step = 2
	if err := h.st.PutRollout(ctx, rec); err != nil {
		t.Fatal(err)
	}
	h.restart()
	h.pass(ctx, v2, "c2")
	if w := h.tr.weight(set2); w != 50 {
		t.Fatalf("after the restart v2 has weight %d; want 50, step 2 taken again", w)
	}
}

// TestCanaryWithoutCountersIsHeld: a step whose counters cannot be read is
// held, saying so, not judged on nothing.
func TestCanaryWithoutCountersIsHeld(t *testing.T) {
	ctx := context.Background()
	h, tr, canary := stepsHarness(t, 10)
	v2, set1, set2 := atStepOne(ctx, h, canary)
	tr.serve(set2, 20, 0)
	tr.serve(set1, 20, 0)
	id := h.placement(v2, "c2").rolloutID(v2.ReleaseID())
	ageRollout(t, h, id)
	tr.down = set2
	h.pass(ctx, v2, "c2")
	rec, err := h.st.Rollout(ctx, id)
	if err != nil || h.tr.weight(set2) != 10 || !strings.Contains(rec.Analysis, "no metrics to judge the step") {
		t.Fatalf("with its counters unreadable, v2 has weight %d and its rollout %+v (%v); want held at 10, saying why", h.tr.weight(set2), rec, err)
	}
}

// TestPrometheusWithoutDataHoldsACanary: a canary whose own counters pass
// is held at its weight while a Prometheus query of its analysis has no
// data, and promoted once the query answers under its max.
func TestPrometheusWithoutDataHoldsACanary(t *testing.T) {
	ctx := context.Background()
	var body atomic.Pointer[string]
	answer := func(s string) { body.Store(&s) }
	answer(`{"status":"success","data":{"resultType":"vector","result":[]}}`)
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, *body.Load())
	}))
	t.Cleanup(prom.Close)
	h, tr, canary := stepsHarness(t, 10)
	with := func(digit string) schema.Service {
		svc := canary(digit)
		an := *svc.Strategy.Analysis
		an.Prometheus = &schema.PrometheusAnalysis{Address: prom.URL, Queries: []schema.PromQuery{{Name: "errors", Query: `errors{set="{{.Set}}"}`, Max: 0.1}}}
		svc.Strategy.Analysis = &an
		return svc
	}
	v2, set1, set2 := atStepOne(ctx, h, with)
	for range 2 {
		tr.serve(set2, 20, 0)
		tr.serve(set1, 20, 0)
		h.pass(ctx, v2, "c2")
		if w := h.tr.weight(set2); w != 10 {
			t.Fatalf("with no data from Prometheus, v2 has weight %d; want 10 (held)", w)
		}
	}
	answer(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.01"]}]}}`)
	h.pass(ctx, v2, "c2")
	if w := h.tr.weight(set2); w != 100 {
		t.Fatalf("with Prometheus under its max, v2 has weight %d; want 100", w)
	}
}

// refusingSplits is the counting traffic adapter whose next SetSplit fails.
type refusingSplits struct {
	*countingTraffic
	refuse atomic.Bool
}

func (r *refusingSplits) SetSplit(ctx context.Context, split adapters.Split) error {
	if r.refuse.CompareAndSwap(true, false) {
		return fmt.Errorf("fake: set split: injected failure: %w", adapters.ErrUnavailable)
	}
	return r.countingTraffic.SetSplit(ctx, split)
}

// TestFailedCanaryIsNotTakenUpAgainWhenItsSplitFails: a canary that fails
// its analysis is rolled back in one split. When that split fails, the
// rollout is recorded failed all the same, and the next pass moves the
// traffic back; the release is not made again nor given traffic. (It was:
// the failed set was collected, and the rollout, still at its step, made
// it again.)
func TestFailedCanaryIsNotTakenUpAgainWhenItsSplitFails(t *testing.T) {
	ctx := context.Background()
	h, tr, canary := stepsHarness(t, 10)
	refusing := &refusingSplits{countingTraffic: tr}
	h.r.targets.traffics[adapterKey(h.target, h.target.Traffic)] = refusing
	v2, set1, set2 := atStepOne(ctx, h, canary)
	tr.serve(set2, 20, 20)
	tr.serve(set1, 20, 0)
	refusing.refuse.Store(true)
	if _, err := h.r.converge(ctx, h.placement(v2, "c2")); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("the split back failed, and converging said %v", err)
	}
	id := h.placement(v2, "c2").rolloutID(v2.ReleaseID())
	for i := range 4 {
		h.pass(ctx, v2, "c2")
		rec, err := h.st.Rollout(ctx, id)
		if err != nil || rec.Phase != api.RolloutFailed || h.tr.weight(set2) != 0 {
			t.Fatalf("pass %d after the failed split: the rollout is %s, the canary has %d%% (%v); want failed and 0", i+1, rec.Phase, h.tr.weight(set2), err)
		}
	}
}
