package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

var zones = []string{"a1", "a2", "b1", "b2", "c1", "c2"}

// TestFleetRollsOutZoneByZone is the demo's story across a fleet: v1 on
// staging and six hosts of three zones, under load through the load
// balancer; v2 canaried on staging then zone by zone, no request failing;
// a bad release caught on staging, never reaching a zone; and a revert to
// v1, warm on every host, switching them all within a second of the
// commit being seen, no request failing.
func TestFleetRollsOutZoneByZone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	_, f, st := servingV1(ctx, t)

	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	f.Converge(ctx, st, "v2, staging then zone by zone", c2, "v2")
	st.AssertNoFailedRequests(t)
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v2 := s.Services[0].Release
	entries := journal(ctx, t, f)
	assertStageByStage(t, entries, v2, "staging", "zone-a", "zone-b", "zone-c")

	c3 := f.Commit(ctx, f.Artifacts["v1"], `{FAIL_RATE: "0.5"}`, "Deploy a bad release")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	if !st.RolledBack(ctx, "a bad release", c3, "v2") {
		t.Fatalf("the bad release was not rolled back:\n%s", f.Logs())
	}
	_, failedBefore, _ := st.Load.Stats()
	s, _ = f.API.Status(ctx)
	bad := s.Head
	entries = journal(ctx, t, f)
	for _, e := range entries {
		if e.Kind == api.EntryIntent && e.Stage != "staging" && e.Release != "" && e.Release != v2 && e.Time.After(bad.SeenAt) {
			t.Errorf("after the bad release, stage %s acted on release %s: %s", e.Stage, e.Release, e.Message)
		}
	}

	back, err := f.Repo.RevertLast(ctx, 2, "Back to v1")
	if err != nil {
		t.Fatal(err)
	}
	var seen time.Time
	e2etest.WaitFor(ctx, t, "the revert to be seen", func() bool {
		_ = f.API.Trigger(ctx)
		s, err := f.API.Status(ctx)
		if err == nil && s.Head != nil && s.Head.Commit == back {
			seen = s.Head.SeenAt
		}
		return !seen.IsZero()
	})
	if !st.Promoted(ctx, "the revert to v1, warm everywhere", back, "v1") {
		t.Fatalf("the revert did not converge:\n%s", f.Logs())
	}
	st.AssertSwitchedWithin1s(ctx, t, seen, "v2", "v1")
	if _, failed, lastErr := st.Load.Stats(); failed != failedBefore {
		t.Fatalf("%d requests failed after the bad release was rolled back (last error %q)", failed-failedBefore, lastErr)
	}
}

// servingV1 starts the fleet of zones and its reconciler, serves v1 on
// every host and sends a steady load through the load balancer and to
// staging, for the rest of the test.
func servingV1(ctx context.Context, t *testing.T) (*fleet, *e2etest.Fixture, *e2etest.Story) {
	t.Helper()
	fl := startFleet(ctx, t, zones...)
	f := fl.fixture(ctx)
	st, _ := f.ServeV1(ctx, "Deploy web v1 across the fleet", "http://"+fl.lb+"/", "http://"+fl.staging+"/")
	return fl, f, st
}

// assertStageByStage checks in the journal that release entered each stage
// only after the stage before it switched all its targets to it.
func assertStageByStage(t *testing.T, entries []api.Entry, release string, stages ...string) {
	t.Helper()
	first, last := map[string]uint64{}, map[string]uint64{}
	for _, e := range entries {
		if e.Kind != api.EntryIntent || e.Release != release {
			continue
		}
		if _, ok := first[e.Stage]; !ok {
			first[e.Stage] = e.Seq
		}
		last[e.Stage] = e.Seq
	}
	for i, stage := range stages {
		if _, ok := first[stage]; !ok {
			t.Fatalf("release %s never reached stage %s", release[:12], stage)
		}
		if i > 0 && first[stage] < last[stages[i-1]] {
			t.Errorf("release %s entered %s (entry %d) before %s was done with it (entry %d)", release[:12], stage, first[stage], stages[i-1], last[stages[i-1]])
		}
	}
}

// journal reads the whole journal through the API, a page at a time.
func journal(ctx context.Context, t testing.TB, f *e2etest.Fixture) []api.Entry {
	t.Helper()
	var out []api.Entry
	for {
		after := uint64(0)
		if len(out) > 0 {
			after = out[len(out)-1].Seq
		}
		page, err := f.API.Journal(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
	}
}
