package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestCanaryWithoutTrafficIsHeldNotPassed canaries v2 while nothing calls
// the service: its first step's bake time passes, but without requests the
// step is held ("not enough data"), never passed. Once traffic comes, the
// canary is judged and promoted with no failed request.
func TestCanaryWithoutTrafficIsHeldNotPassed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	st := f.Story()
	c1 := f.Commit(ctx, f.Artifacts["v1"], "", "Deploy web v1")
	f.StartReconciler(ctx)
	if !st.Promoted(ctx, "deploy v1", c1, "v1") {
		t.Fatalf("v1 did not converge:\n%s", f.Logs())
	}

	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2 with nobody calling")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var pl api.PlacementStatus
	e2etest.WaitFor(ctx, t, "the first canary step to be held for want of data", func() bool {
		s, err := f.API.Status(ctx)
		if err != nil || s.Applied == nil || s.Applied.Commit != c2 || len(s.Services) == 0 {
			return false
		}
		pl = s.Services[0].Placements[0]
		return pl.Rollout != nil && strings.Contains(pl.Rollout.Analysis, "not enough data: holding")
	})
	ro := pl.Rollout
	if ro.Phase != api.RolloutCanary || ro.Step != 1 || pl.Split == nil {
		t.Fatalf("held rollout: %+v, split %+v", ro, pl.Split)
	}
	for _, s := range pl.Sets {
		if s.State == api.SetCanary && pl.Split.Weight(s.ID) != 10 {
			t.Fatalf("canary weight %d during step 1, want 10: %+v", pl.Split.Weight(s.ID), pl.Split)
		}
	}
	time.Sleep(time.Second)
	if s, err := f.API.Status(ctx); err != nil || s.Services[0].Placements[0].Rollout.Step != 1 || s.Ready.Status {
		t.Fatalf("the step moved on without data: %+v, %v", s.Services[0].Placements[0].Rollout, err)
	}

	st.Load = harness.StartLoad(ctx, f.Router, 2, 5*time.Millisecond)
	t.Cleanup(st.Load.Stop)
	if !st.Promoted(ctx, "canary v2 once traffic comes", c2, "v2") {
		t.Fatalf("v2 was not promoted once it had traffic:\n%s", f.Logs())
	}
	st.AssertNoFailedRequests(t)
}

// TestSlowReleaseIsRolledBack canaries a release that answers every request
// correctly but 200ms slower: its p99 latency, against the baseline's,
// fails its first step and it is rolled back with no failed request.
func TestSlowReleaseIsRolledBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, _ := e2etest.ServingV1UnderLoad(t, ctx)
	c := f.Commit(ctx, f.Artifacts["v2"], `{RESPONSE_DELAY: "200ms"}`, "Deploy a slow v2")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	if !st.RolledBack(ctx, "canary of the slow release", c, "v1") {
		t.Fatalf("the slow release was not rolled back:\n%s", f.Logs())
	}
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if msg := s.Services[0].Placements[0].Rollout.Message; !strings.Contains(msg, "latency-p90 fail") {
		t.Fatalf("rollback reason %q does not name the latency", msg)
	}
	st.AssertNoFailedRequests(t)
}
