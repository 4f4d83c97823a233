package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/schema"
)

// TestBakedCanaryWithTooLittleDataIsHeld: a step whose bake is done (no
// bake time, 10 requests asked, 30 served) while its analysis has fewer
// than minRequests (50) is held at its weight, not promoted: the bake's
// request count does not stand in for the verdict, and an inconclusive
// analysis is never a pass. Once the canary has served minRequests it is.
func TestBakedCanaryWithTooLittleDataIsHeld(t *testing.T) {
	ctx := context.Background()
	h, tr, canary := canaryHarness(t, schema.Bake{Requests: 10},
		schema.Analysis{MaxErrorRate: 0.05, MaxErrorRateIncrease: 0.05, MinRequests: 50})
	v2, set1, set2 := atStepOne(ctx, h, canary)
	if w := h.tr.weight(set2); w != 10 {
		t.Fatalf("v2's canary has weight %d, want 10", w)
	}

	tr.serve(set2, 30, 0)
	tr.serve(set1, 270, 0)
	id := h.placement(v2, "c2").rolloutID(v2.ReleaseID())
	for range 3 {
		rec, err := h.st.Rollout(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		rec.UpdatedAt = rec.UpdatedAt.Add(-time.Minute) // noteAnalysis writes at most once a second
		if err := h.st.PutRollout(ctx, rec); err != nil {
			t.Fatal(err)
		}
		h.pass(ctx, v2, "c2")
		if w := h.tr.weight(set2); w != 10 {
			t.Fatalf("baked on 30 requests with minRequests 50, v2 has weight %d, want 10 (held)", w)
		}
	}
	rec, err := h.st.Rollout(ctx, id)
	if err != nil || rec.Phase != api.RolloutCanary || !strings.Contains(rec.Analysis, "not enough data: holding") {
		t.Fatalf("the held canary: %+v, %v", rec, err)
	}

	tr.serve(set2, 30, 0)
	tr.serve(set1, 270, 0)
	h.pass(ctx, v2, "c2") // 60 good requests: passed and promoted
	if w := h.tr.weight(set2); w != 100 {
		t.Fatalf("v2 served minRequests without errors but has weight %d", w)
	}
}
