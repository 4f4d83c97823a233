package reconcile

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// TestReadHistory reads a journal of several rollouts on two stages: each
// has its commit's message, its outcome, and how long it took and served;
// a release a rollback replaced was rolled back; filters narrow the list.
func TestReadHistory(t *testing.T) {
	ctx := context.Background()
	st, err := journal.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	now := t0.Add(10 * time.Hour)
	for _, rev := range []journal.Revision{{Commit: "c1", Message: "first"}, {Commit: "c2", Message: "second"}, {Commit: "c3", Message: "revert second"}} {
		rev.SeenAt, rev.Verdict = t0, api.RevisionAccepted
		if err := st.PutRevision(ctx, rev); err != nil {
			t.Fatal(err)
		}
	}
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	rollouts := []journal.Rollout{
		{Service: "web", Stage: "dev", Release: "r1", Revision: "c1", Phase: api.RolloutSucceeded, StartedAt: at(0), UpdatedAt: at(0).Add(30 * time.Second)},
		{Service: "web", Stage: "dev", Release: "r2", FromRelease: "r1", Revision: "c2", Phase: api.RolloutSucceeded, StartedAt: at(1), UpdatedAt: at(1).Add(time.Minute)},
		{Service: "web", Stage: "dev", Release: "r1", FromRelease: "r2", Revision: "c3", Phase: api.RolloutSucceeded, Rollback: true, StartedAt: at(2), UpdatedAt: at(2).Add(time.Second)},
		{Service: "web", Stage: "prod", Release: "r1", Revision: "c1", Phase: api.RolloutFailed, Message: "never healthy", StartedAt: at(3), UpdatedAt: at(3).Add(time.Minute)},
		{Service: "api", Stage: "dev", Release: "a1", Revision: "c9", Phase: api.RolloutCanary, StartedAt: at(4), UpdatedAt: at(4)},
		{Service: "api", Stage: "dev", Release: "a0", Revision: "c1", Phase: api.RolloutAbandoned, StartedAt: at(3), UpdatedAt: at(3).Add(time.Minute)},
	}
	for _, ro := range rollouts {
		ro.Target, ro.ID = "t", ro.Service+"/"+ro.Stage+"/t/"+ro.Release+ro.Revision
		if err := st.PutRollout(ctx, ro); err != nil {
			t.Fatal(err)
		}
	}
	h, err := ReadHistory(ctx, st, HistoryQuery{Service: "web", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		stage, release, message string
		outcome                 api.Outcome
		took, served            time.Duration
	}{
		{"dev", "r1", "first", api.OutcomeSucceeded, 30 * time.Second, time.Hour + 30*time.Second},
		{"dev", "r2", "second", api.OutcomeRolledBack, time.Minute, time.Hour - time.Minute + time.Second},
		{"dev", "r1", "revert second", api.OutcomeSucceeded, time.Second, 8*time.Hour - time.Second},
		{"prod", "r1", "first", api.OutcomeFailed, time.Minute, 0},
	}
	if len(h.Releases) != len(want) {
		t.Fatalf("history of web: %+v", h.Releases)
	}
	for i, w := range want {
		got := h.Releases[i]
		if got.Stage != w.stage || got.Release != w.release || got.Message != w.message || got.Outcome != w.outcome || got.Took.Duration != w.took || got.Served.Duration != w.served {
			t.Errorf("release %d: %+v, want %+v", i, got, w)
		}
	}
	all, err := ReadHistory(ctx, st, HistoryQuery{Stage: "dev", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]api.Outcome{}
	for _, r := range all.Releases {
		if r.Stage != "dev" {
			t.Errorf("--stage dev listed %+v", r)
		}
		outcomes[r.Service+"/"+r.Release] = r.Outcome
	}
	if len(all.Releases) != 5 || outcomes["api/a1"] != api.OutcomeInFlight || outcomes["api/a0"] != api.OutcomeAbandoned {
		t.Errorf("history of stage dev: %+v", all.Releases)
	}
}
