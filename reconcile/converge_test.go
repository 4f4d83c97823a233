package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/schema"
)

func TestProgressDeadlineStartsAfterStartPeriod(t *testing.T) {
	svc := func(startPeriod time.Duration) schema.Service {
		return schema.Service{Health: schema.Health{StartPeriod: schema.Duration{Duration: startPeriod}},
			Strategy: schema.Strategy{ProgressDeadline: schema.Duration{Duration: 30 * time.Second}}}
	}
	for _, tc := range []struct {
		startPeriod, age time.Duration
		passed           bool
	}{
		{0, 29 * time.Second, false},
		{0, 31 * time.Second, true},
		{time.Minute, 31 * time.Second, false},
		{time.Minute, 89 * time.Second, false},
		{time.Minute, 91 * time.Second, true},
	} {
		if got := progressDeadlinePassed(svc(tc.startPeriod), tc.age); got != tc.passed {
			t.Errorf("start period %s, %s after the start: passed %v, want %v", tc.startPeriod, tc.age, got, tc.passed)
		}
	}
	if got := progressWindow(svc(time.Minute)); got != "1m30s (start period 1m0s, then progress deadline 30s)" {
		t.Errorf("progressWindow: %q", got)
	}
	if got := progressWindow(svc(0)); got != "30s" {
		t.Errorf("progressWindow without a start period: %q", got)
	}
}

// TestStartPeriodHoldsTheProgressDeadline starts a release whose instances
// fail their health checks: within its start period and the progress
// deadline after it the rollout waits; past both it fails, saying so.
func TestStartPeriodHoldsTheProgressDeadline(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		startPeriod, age time.Duration
		failed           bool
	}{
		{0, 5 * time.Second, true},
		{10 * time.Second, 5 * time.Second, false},
		{10 * time.Second, 10500 * time.Millisecond, false},
		{10 * time.Second, 12 * time.Second, true},
	} {
		h := newHarness(t)
		h.rt.startHealthy = false
		svc := h.service("a", schema.Health{StartPeriod: schema.Duration{Duration: tc.startPeriod}})
		svc.Strategy.ProgressDeadline.Duration = time.Second
		h.pass(ctx, svc, "c1")
		p := h.placement(svc, "c1")
		ro, err := h.st.Rollout(ctx, p.rolloutID(svc.ReleaseID()))
		if err != nil || ro.Phase != api.RolloutCreating {
			t.Fatalf("after the first pass: %+v, %v", ro, err)
		}
		ro.StartedAt = ro.StartedAt.Add(-tc.age)
		if err := h.st.PutRollout(ctx, ro); err != nil {
			t.Fatal(err)
		}
		h.pass(ctx, svc, "c1")
		if ro, err = h.st.Rollout(ctx, ro.ID); err != nil {
			t.Fatal(err)
		}
		if failed := ro.Phase == api.RolloutFailed; failed != tc.failed {
			t.Errorf("start period %s, instances unhealthy %s after the start: rollout %s (%s)", tc.startPeriod, tc.age, ro.Phase, ro.Message)
		}
		if tc.failed && tc.startPeriod > 0 && !strings.Contains(ro.Message, "start period "+tc.startPeriod.String()) {
			t.Errorf("the failure does not name the start period: %s", ro.Message)
		}
	}
}
