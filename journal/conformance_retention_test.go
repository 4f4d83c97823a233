package journal

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
)

// The retention's contract, held by the conformance suite to every
// implementation.

// newDriverOn is a rolloutDriver on an empty journal of kind k.
func newDriverOn(t *testing.T, k storeKind) *rolloutDriver {
	st, _ := k.open(t)
	d := &rolloutDriver{t: t, st: st.(compactingStore), now: t0}
	d.b, _ = st.(*Bolt)
	return d
}

// testRetentionKeepsWhatIsNeeded: after compacting everything older than
// now, what a restarted reconciler and the status read is still there.
func testRetentionKeepsWhatIsNeeded(t *testing.T, k storeKind) {
	ctx := context.Background()
	d := newDriverOn(t, k)
	for range 6 {
		d.next()
	}
	// Release 7's rollout is under way: its create-set has no outcome (a
	// reconciler killed mid-action), and the invariant held it.
	d.now = d.now.Add(time.Hour)
	d.putRollout(7, api.RolloutCreating, nil)
	pending := d.act(api.ActionCreateSet, setID(7), false)
	held := d.act(api.ActionScaleSet, setID(6), true)
	d.putRollout(7, api.RolloutCreating, &Verdict{Entry: "invariant", Result: "deny", Reasons: []string{"capacity"}, At: d.now, Seq: held.Seq})
	d.append(Entry{Kind: api.EntryEvent, Action: api.ActionBakeStarted, Release: releaseID(6), Message: "bake started"})
	d.append(Entry{Kind: api.EntryEvent, Action: api.ActionBakeStarted, Release: releaseID(2), Message: "bake started"})
	d.append(Entry{Kind: api.EntryEvent, Message: "the newest entry"})

	done, err := d.st.Compact(ctx, d.now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compacted %+v", done)
	mustCheck(t, d.st, "after compaction")
	if d.b != nil {
		checkCacheAgrees(t, d.b, "after compaction")
	}

	for _, id := range []string{setID(5), setID(6)} { // warm and serving
		if _, err := d.st.InfraSet(ctx, id); err != nil {
			t.Errorf("live set %s: %v", id, err)
		}
	}
	if _, err := d.st.InfraSet(ctx, setID(3)); err == nil {
		t.Errorf("removed set %s is still there", setID(3))
	}
	for _, id := range []string{releaseID(5), releaseID(6), releaseID(7)} {
		if _, err := d.st.Release(ctx, id); err != nil && id != releaseID(7) {
			t.Errorf("release %s of a live set: %v", id, err)
		}
	}
	for _, c := range []string{commitID(5), commitID(6)} {
		if _, err := d.st.Revision(ctx, c); err != nil {
			t.Errorf("revision %s that a live release names: %v", c, err)
		}
	}
	if _, err := d.st.Revision(ctx, commitID(2)); err == nil {
		t.Errorf("revision %s, which nothing needs, is still there", commitID(2))
	}
	ros, _ := d.st.Rollouts(ctx)
	ids := []string{}
	for _, ro := range ros {
		ids = append(ids, ro.ID)
	}
	if want := []string{"web/prod/a/r5", "web/prod/a/r6", "web/prod/a/r7"}; !slices.Equal(ids, want) {
		t.Errorf("rollouts %v remain, want %v (the warm and serving sets' and the one in flight)", ids, want)
	}
	entries, _ := d.st.Entries(ctx, 0, 0)
	has := map[uint64]Entry{}
	for _, e := range entries {
		has[e.Seq] = e
	}
	if _, ok := has[pending.Seq+1]; !ok {
		t.Errorf("the intent without an outcome (#%d) was compacted", pending.Seq+1)
	}
	if _, ok := has[pending.Seq]; !ok {
		t.Errorf("the decision (#%d) the pending intent cites was compacted", pending.Seq)
	}
	if _, ok := has[held.Seq]; !ok {
		t.Errorf("the decision (#%d) the rollout in flight's verdict cites was compacted", held.Seq)
	}
	bakes := 0
	for _, e := range entries {
		if e.Action == api.ActionBakeStarted {
			bakes++
			if e.Release != releaseID(6) {
				t.Errorf("bake of %s, whose sets are gone, was kept", e.Release)
			}
		}
	}
	if bakes != 1 {
		t.Errorf("%d bakes kept, want the live release's", bakes)
	}
	if last := entries[len(entries)-1]; last.Message != "the newest entry" {
		t.Errorf("the newest entry was compacted: the last is %+v", last)
	}
	e, err := d.st.Append(ctx, Entry{Kind: api.EntryEvent, Message: "after"})
	if err != nil || e.Seq != entries[len(entries)-1].Seq+1 {
		t.Errorf("append after compaction: %+v, %v", e, err)
	}
}

// testRetainJournalsEachCompaction: Retain compacts at once, journals one
// event with the counts, and journals nothing when nothing was removed;
// with no bound it does nothing.
func testRetainJournalsEachCompaction(t *testing.T, k storeKind) {
	ctx := context.Background()
	d := newDriverOn(t, k) // its records are months old: older than any bound
	for range 6 {
		d.next()
	}
	before, _ := d.st.Entries(ctx, 0, 0)
	d.st.Retain(ctx, Retention{Keep: 0})
	if after, _ := d.st.Entries(ctx, 0, 0); len(after) != len(before) {
		t.Fatalf("Retain without a bound changed the journal: %d entries, then %d", len(before), len(after))
	}

	stop, cancel := context.WithCancel(ctx)
	ended := make(chan struct{})
	go func() { d.st.Retain(stop, Retention{Keep: time.Hour, Every: time.Hour}); close(ended) }()
	var event Entry
	for event.Action != api.ActionJournalCompacted {
		entries, err := d.st.Entries(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		event = entries[len(entries)-1]
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-ended
	var counts Compaction
	if err := json.Unmarshal(event.Detail, &counts); err != nil || counts.Total() == 0 || counts.InfraSets != 4 || counts.Deferred {
		t.Fatalf("the compaction's event: %+v (%v), detail %s", counts, err, event.Detail)
	}
	if !strings.Contains(event.Message, "4 infra-sets") || event.Kind != api.EntryEvent {
		t.Fatalf("the compaction's event: %+v", event)
	}
	mustCheck(t, d.st, "after Retain")
	// The entry that was the newest, kept as such with its intent and
	// decision, goes now that the event is newer; then nothing is left.
	if again, err := d.st.CompactOlderThan(ctx, time.Hour); err != nil || again.Total() != 3 || again.Entries != 3 {
		t.Fatalf("a second compaction removed %+v (%v): want the last action's decision, intent and outcome", again, err)
	}
	entries, _ := d.st.Entries(ctx, 0, 0)
	last := entries[len(entries)-1]
	if again, err := d.st.CompactOlderThan(ctx, time.Hour); err != nil || again.Total() != 0 {
		t.Fatalf("a third compaction removed %+v (%v): nothing was left to remove", again, err)
	}
	if entries, _ := d.st.Entries(ctx, 0, 0); entries[len(entries)-1].Seq != last.Seq {
		t.Fatalf("a compaction that removed nothing journaled %+v", entries[len(entries)-1])
	}
	mustCheck(t, d.st, "after three compactions")
}
