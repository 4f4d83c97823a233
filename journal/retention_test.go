package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/durable-delivery/durable/api"
)

// rolloutDriver writes to a journal what a reconciler writes for one
// blue-green rollout after another of service web on one placement, an
// hour apart, keeping one warm set: the revision and its release, the new
// set made and switched to, the previous one warm, the one before removed,
// each action as decision, intent and outcome.
type rolloutDriver struct {
	t  *testing.T
	st compactingStore
	// b is st when it is a bbolt journal, for what only it has.
	b   *Bolt
	n   int
	now time.Time
}

// compactingStore is a journal that compacts itself: every implementation.
type compactingStore interface {
	Store
	Compact(ctx context.Context, cutoff time.Time) (Compaction, error)
	CompactOlderThan(ctx context.Context, keep time.Duration) (Compaction, error)
	Retain(ctx context.Context, r Retention)
}

func setID(i int) string     { return fmt.Sprintf("web-a-r%d", i) }
func releaseID(i int) string { return fmt.Sprintf("r%d", i) }
func commitID(i int) string  { return fmt.Sprintf("c%d", i) }

// bulky stands for a desired state or a release's spec: kilobytes each.
func bulky(n int) json.RawMessage {
	return json.RawMessage(`"` + strings.Repeat("x", n) + `"`)
}

func (d *rolloutDriver) append(e Entry) Entry {
	d.t.Helper()
	e.Time = d.now
	e.Service, e.Stage, e.Target = "web", "prod", "a"
	out, err := d.st.Append(context.Background(), e)
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

// act journals an action as the reconciler's act does; outcome false
// leaves it as a reconciler killed mid-action does.
func (d *rolloutDriver) act(action api.Action, set string, outcome bool) Entry {
	dec := d.append(Entry{Kind: api.EntryDecision, Policy: "builtin", Result: "allow", Set: set, Message: "allowed"})
	in := d.append(Entry{Kind: api.EntryIntent, Action: action, Set: set, Decision: dec.Seq, Message: string(action)})
	if outcome {
		d.append(Entry{Kind: api.EntryOutcome, Action: action, Set: set, Intent: in.Seq, Message: string(action) + " done"})
	}
	return dec
}

func (d *rolloutDriver) putSet(i int, state api.SetState) {
	d.t.Helper()
	s := InfraSet{ID: setID(i), Service: "web", Stage: "prod", Target: "a", Release: releaseID(i), State: state,
		CreatedAt: d.now, UpdatedAt: d.now}
	if old, err := d.st.InfraSet(context.Background(), s.ID); err == nil {
		s.CreatedAt = old.CreatedAt
	}
	if err := d.st.PutInfraSet(context.Background(), s); err != nil {
		d.t.Fatal(err)
	}
}

func (d *rolloutDriver) putRollout(i int, phase api.RolloutPhase, verdict *Verdict) {
	d.t.Helper()
	ro := Rollout{ID: "web/prod/a/" + releaseID(i), Service: "web", Stage: "prod", Target: "a", Release: releaseID(i),
		FromRelease: releaseID(i - 1), Revision: commitID(i), Set: setID(i), Phase: phase, Verdict: verdict,
		StartedAt: d.now.Add(-time.Duration(d.n) * time.Nanosecond), UpdatedAt: d.now}
	if old, err := d.st.Rollout(context.Background(), ro.ID); err == nil {
		ro.StartedAt = old.StartedAt
	}
	if err := d.st.PutRollout(context.Background(), ro); err != nil {
		d.t.Fatal(err)
	}
}

// next rolls release n+1 out: an hour after the last.
func (d *rolloutDriver) next() {
	d.t.Helper()
	ctx := context.Background()
	d.n++
	d.now = d.now.Add(time.Hour)
	i := d.n
	rev := Revision{Commit: commitID(i), SeenAt: d.now, Verdict: api.RevisionAccepted, Attempt: commitID(i),
		Releases: map[string]string{"web": releaseID(i)}, DesiredState: bulky(4000)}
	if err := d.st.PutRevision(ctx, rev); err != nil {
		d.t.Fatal(err)
	}
	if err := d.st.PutRelease(ctx, Release{ID: releaseID(i), Service: "web", Revision: commitID(i), SeenAt: d.now, Spec: bulky(1000)}); err != nil {
		d.t.Fatal(err)
	}
	d.append(Entry{Kind: api.EntryRevision, Result: "accepted", Message: "revision " + commitID(i)})
	d.putRollout(i, api.RolloutCreating, nil)
	d.act(api.ActionCreateSet, setID(i), true)
	d.putSet(i, api.SetCreating)
	d.putSet(i, api.SetReady)
	dec := d.act(api.ActionSetSplit, setID(i), true)
	d.putSet(i, api.SetServing)
	if i > 1 {
		d.putSet(i-1, api.SetWarm)
	}
	d.putRollout(i, api.RolloutSucceeded, &Verdict{Entry: "invariant", Result: "allow", Reasons: []string{"allowed"}, At: d.now, Seq: dec.Seq})
	if i > 2 {
		d.act(api.ActionRemoveSet, setID(i-2), true)
		d.putSet(i-2, api.SetRemoving)
		d.putSet(i-2, api.SetRemoved)
	}
}

func newDriver(t *testing.T) *rolloutDriver {
	b := newTestBolt(t)
	b.db.NoSync = true // the test measures sizes, not durability; fsyncs would make it minutes
	return &rolloutDriver{t: t, st: b, b: b, now: t0}
}

// highWater is the journal's size in bytes: its last page in use, which
// only grows when no freed page can hold what is written.
func highWater(t *testing.T, b *Bolt) int64 {
	t.Helper()
	var size int64
	if err := b.db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil }); err != nil {
		t.Fatal(err)
	}
	return size
}

func fileSize(t *testing.T, b *Bolt) int64 {
	t.Helper()
	fi, err := os.Stat(b.Path())
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func mustCheck(t *testing.T, st Store, where string) {
	t.Helper()
	problems, err := Check(context.Background(), st)
	if err != nil || len(problems) > 0 {
		t.Fatalf("%s: journal.Check: %v %q", where, err, problems)
	}
}

func counts(t *testing.T, b *Bolt) (entries, records int) {
	t.Helper()
	err := b.db.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			n := tx.Bucket(name).Stats().KeyN
			if string(name) == string(bucketEntries) {
				entries = n
			} else {
				records += n
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return entries, records
}

// TestRetentionBoundsTheJournal drives 400 rollouts, an hour apart, into
// two journals: one compacted every 10 rollouts to what is younger than
// 24 hours and still needed, one never. The first stops growing once its
// freed pages are reused: its size at the end is within a quarter of its
// size a quarter of the way; its records are bounded by the window's
// rollouts, whatever the count. The second grows with every rollout.
func TestRetentionBoundsTheJournal(t *testing.T) {
	const rollouts, keep, every = 400, 24 * time.Hour, 10
	kept, all := newDriver(t), newDriver(t)
	var keptAtQuarter, allAtQuarter int64
	for i := 1; i <= rollouts; i++ {
		kept.next()
		all.next()
		if i%every == 0 {
			done, err := kept.b.Compact(context.Background(), kept.now.Add(-keep))
			if err != nil || done.Deferred {
				t.Fatalf("rollout %d: compact: %+v, %v", i, done, err)
			}
			mustCheck(t, kept.b, fmt.Sprintf("after rollout %d", i))
			checkCacheAgrees(t, kept.b, fmt.Sprintf("after rollout %d", i))
		}
		if i == rollouts/4 {
			keptAtQuarter, allAtQuarter = highWater(t, kept.b), highWater(t, all.b)
		}
	}
	keptSize, allSize := highWater(t, kept.b), highWater(t, all.b)
	t.Logf("%d rollouts: with retention %d bytes in use (%d at %d), without %d bytes (%d at %d); files %d and %d bytes",
		rollouts, keptSize, keptAtQuarter, rollouts/4, allSize, allAtQuarter, rollouts/4, fileSize(t, kept.b), fileSize(t, all.b))
	if keptSize > keptAtQuarter*5/4 {
		t.Errorf("with retention the journal grew from %d to %d bytes between rollout %d and %d", keptAtQuarter, keptSize, rollouts/4, rollouts)
	}
	if allSize < allAtQuarter*3 {
		t.Errorf("without retention the journal grew only from %d to %d bytes: the test drives too little to show a bound", allAtQuarter, allSize)
	}
	// What stays is the window (keep / an hour, plus the rollouts between
	// compactions) and what the live sets need, whatever the count:
	// 10 entries and 12 records (4, and 8 transitions) a rollout.
	window := int(keep/time.Hour) + every + 2
	entries, records := counts(t, kept.b)
	t.Logf("with retention %d entries and %d records remain (window: %d rollouts)", entries, records, window)
	if entries > 10*window || records > 12*window {
		t.Errorf("with retention %d entries and %d records remain, more than a window of %d rollouts holds", entries, records, window)
	}
	if e, r := counts(t, all.b); e < 10*rollouts-10 || r < 12*rollouts-10 {
		t.Errorf("without retention only %d entries and %d records", e, r)
	}
}

// TestRetentionDefersWhenRecordsChange: a record put between the plan and
// the deletion may refer to what the plan would remove, so no record goes.
func TestRetentionDefersWhenRecordsChange(t *testing.T) {
	ctx := context.Background()
	d := newDriver(t)
	for range 5 {
		d.next()
	}
	d.b.cache.mu.RLock()
	puts := d.b.puts
	d.b.cache.mu.RUnlock()
	snap, err := d.b.snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	plan := planRetention(snap, d.now.Add(time.Hour))
	if len(plan.releases) == 0 {
		t.Fatal("the plan removes no release: nothing to defer")
	}
	// A revert to release 1 between the plan and its deletion.
	d.putSet(1, api.SetCreating)
	var done Compaction
	if err := d.b.compactRecords(ctx, plan, puts, &done); err != nil || !done.Deferred || done.Releases+done.Revisions+done.InfraSets+done.Rollouts != 0 {
		t.Fatalf("compact records after a put: %+v, %v; want deferred, nothing removed", done, err)
	}
	if _, err := d.b.Release(ctx, releaseID(1)); err != nil {
		t.Fatal(err)
	}
}

func TestCompactedRangesMerge(t *testing.T) {
	ctx := context.Background()
	b := newTestBolt(t)
	for range 10 {
		appendAll(t, b, Entry{Kind: api.EntryEvent, Message: "e"})
	}
	for _, batch := range [][]uint64{{2}, {4}, {3, 7}, {1}, {8}} {
		if err := b.update(ctx, func(tx *bolt.Tx) error { return deleteEntries(tx, batch) }); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.Compacted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []SeqRange{{1, 4}, {7, 8}}; !slices.Equal(got, want) {
		t.Fatalf("ranges %v, want %v", got, want)
	}
	mustCheck(t, b, "compacted")
	// A gap no compaction recorded is still a breach.
	if err := b.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bucketEntries).Delete(seqKey(5)) }); err != nil {
		t.Fatal(err)
	}
	problems, err := Check(ctx, b)
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0], "no compaction explains") {
		t.Fatalf("check after losing #5: %q, %v", problems, err)
	}
}
