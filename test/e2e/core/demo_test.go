package core

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/demo"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestDemoHeadless runs the whole demo story: v1, v2 canaried under load,
// v3 (which fails a fifth of its requests) caught at its first canary step
// and rolled back, then git revert back to the warm v1. Only v3's phase may
// fail requests, and no more than its canary's share.
func TestDemoHeadless(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out strings.Builder
	sum, err := demo.Run(ctx, demo.Options{Executable: e2etest.Bin, Dir: t.TempDir(), Headless: true, Out: &out})
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Converged {
		t.Fatalf("demo did not converge: %+v", sum)
	}
	if sum.TotalRequests == 0 {
		t.Fatal("no request was sent")
	}
	want := []struct{ version, expect string }{{"v1", "promoted"}, {"v2", "promoted"}, {"v2", "rolled back"}, {"v1", "promoted"}}
	if len(sum.Phases) != len(want) {
		t.Fatalf("phases %+v", sum.Phases)
	}
	for i, p := range sum.Phases {
		if p.Version != want[i].version || p.Expect != want[i].expect || !p.Converged {
			t.Errorf("phase %d: %+v, want %s %s", i, p, want[i].version, want[i].expect)
		}
		if p.Expect == "promoted" && p.FailedRequests != 0 {
			t.Errorf("phase %s: %d requests failed", p.Name, p.FailedRequests)
		}
	}
	bad := sum.Phases[2]
	if bad.FailedRequests == 0 || bad.FailedShare() >= harness.MaxBadShare || bad.DetectionSeconds <= 0 || sum.FailedRequests != bad.FailedRequests {
		t.Errorf("bad release: %d of %d requests failed (%.2f%%), caught after %.3fs; all phases failed %d",
			bad.FailedRequests, bad.Requests, 100*bad.FailedShare(), bad.DetectionSeconds, sum.FailedRequests)
	}
	t.Logf("v3 caught after %.3fs with %.2f%% of the phase's requests failed; rollback %.3fs; %d requests",
		bad.DetectionSeconds, 100*bad.FailedShare(), sum.RollbackSecond, sum.TotalRequests)
}
