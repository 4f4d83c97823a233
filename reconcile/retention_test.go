package reconcile

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// TestRestartAfterCompactionRollsBackToTheWarmSet rolls svc-0 out four
// times (a, b, c, d; one set kept warm), compacts everything the journal's
// retention may (a cutoff in the future: only what is needed stays), and
// starts a new reconciler on the journal, as after a restart: it resumes
// the last revision, leaves what runs as it is, and a revert to c is still
// one traffic switch to c's warm set, with no set made.
func TestRestartAfterCompactionRollsBackToTheWarmSet(t *testing.T) {
	ctx := context.Background()
	f := newFleetHarness(t)
	for i, d := range []string{"a", "b", "c", "d"} {
		f.revision("c"+string(rune('1'+i)), d)
		f.settle(ctx)
		if d == "c" {
			break
		}
	}
	warm := f.set("svc-0")
	f.revision("c4", "d")
	f.settle(ctx)
	serving := f.set("svc-0")

	bolt := f.st.(*journal.Bolt)
	done, err := bolt.Compact(ctx, time.Now().Add(time.Hour))
	if err != nil || done.Deferred {
		t.Fatalf("compact: %+v, %v", done, err)
	}
	if done.InfraSets == 0 || done.Rollouts == 0 || done.Entries == 0 || done.Revisions == 0 {
		t.Fatalf("compaction removed %+v: the removed sets of a and b, their rollouts, entries and revisions should have gone", done)
	}
	t.Logf("compacted %+v", done)
	wantChecked(ctx, t, bolt)

	// Restart: a reconciler made by New resumes from the compacted journal.
	bolt.Close()
	st, err := journal.OpenBolt(filepath.Join(f.dir, "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := New(ctx, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, st, nil)
	if err != nil {
		t.Fatalf("resume after compaction: %v", err)
	}
	if r.revision.Commit != "c4" || r.desired == nil || r.desired.Services["svc-0"].ReleaseID() != f.r.desired.Services["svc-0"].ReleaseID() {
		t.Fatalf("resumed at %q", r.revision.Commit)
	}
	// The fakes, under the key of the target as the journal's desired
	// state gives it back, which the revisions after use too.
	f.target = r.desired.Targets["t"]
	r.targets.runtimes[adapterKey(f.target, f.target.Runtime)] = f.rt
	r.targets.traffics[adapterKey(f.target, f.target.Traffic)] = f.tr
	f.r, f.st = r, st
	f.rt.calls()
	f.tr.calls()
	f.settle(ctx)
	if split, _ := f.tr.Split(ctx, "svc-0"); split.Weight(serving) != 100 || slices.Contains(f.tr.calls(), "svc-0") {
		t.Fatalf("after the restart the split is %+v; want %s serving, untouched", split, serving)
	}
	s, err := ReadStatus(ctx, st)
	if err != nil || s.Ready.Reason != api.ReasonConverged || s.Services[0].Placements[0].Serving != serving {
		t.Fatalf("status after the restart: %+v, %v", s.Ready, err)
	}

	// The revert: c's set is warm, so it is a switch, nothing made.
	f.revision("c5", "c")
	f.settle(ctx)
	if split, _ := f.tr.Split(ctx, "svc-0"); split.Weight(warm) != 100 {
		t.Fatalf("after the revert to c the split is %+v; want its warm set %s at 100", split, warm)
	}
	for _, id := range f.rt.calls() {
		if id != warm && id != serving {
			t.Errorf("the revert ensured set %s: a rollback to a warm set makes none", id)
		}
	}
	ro, err := st.Rollout(ctx, "svc-0/s/t/"+f.r.desired.Services["svc-0"].ReleaseID())
	if err != nil || !ro.Rollback || ro.Phase != api.RolloutSucceeded {
		t.Fatalf("the revert's rollout: %+v, %v; want a rollback, succeeded", ro, err)
	}
	for _, e := range mustEntries(t, st) {
		if e.Kind == api.EntryIntent && e.Action == api.ActionCreateSet && e.Set == warm {
			if e.Time.After(s.Time) {
				t.Errorf("the revert made its set again: intent #%d", e.Seq)
			}
		}
	}
	wantChecked(ctx, t, st)
}

func wantChecked(ctx context.Context, t *testing.T, st journal.Store) {
	t.Helper()
	if problems, err := journal.Check(ctx, st); err != nil || len(problems) > 0 {
		t.Fatalf("journal.Check: %v %q", err, problems)
	}
}
