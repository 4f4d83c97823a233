package journal

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/etcdtest"
)

func TestEtcdCompactedRangesMerge(t *testing.T) {
	ctx := context.Background()
	client := etcdtest.Start(t).Client(t)
	st := openTestEtcd(t, EtcdConfig{Client: client, Prefix: "/ranges"})
	appendEvents(t, st, 10)
	for _, batch := range [][]uint64{{2}, {4}, {3, 7}, {1}, {8}} {
		if err := st.deleteEntries(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Compacted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []SeqRange{{1, 4}, {7, 8}}; !slices.Equal(got, want) {
		t.Fatalf("ranges %v, want %v", got, want)
	}
	mustCheck(t, st, "compacted")
	// A gap no compaction recorded is still a breach.
	if _, err := client.Delete(ctx, "/ranges/entries/"+seqName(5)); err != nil {
		t.Fatal(err)
	}
	problems, err := Check(ctx, st)
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0], "no compaction explains") {
		t.Fatalf("check after losing #5: %q, %v", problems, err)
	}
}

// TestEtcdCompactionDefersWhenRecordsChange: a record put between the
// plan and the deletion may refer to what the plan would remove, so no
// record goes.
func TestEtcdCompactionDefersWhenRecordsChange(t *testing.T) {
	ctx := context.Background()
	st := openTestEtcd(t, EtcdConfig{Client: etcdtest.Start(t).Client(t)})
	d := &rolloutDriver{t: t, st: st, now: t0}
	for range 5 {
		d.next()
	}
	snap, rev, err := st.snapshot(ctx)
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
	if err := st.compactRecords(ctx, plan, rev, &done); err != nil || !done.Deferred || done.Total() != 0 {
		t.Fatalf("compact records after a put: %+v, %v; want deferred, nothing removed", done, err)
	}
	if _, err := st.Release(ctx, releaseID(1)); err != nil {
		t.Fatal(err)
	}
	// Unchanged since, the next compaction goes through.
	if done, err := st.Compact(ctx, d.now.Add(time.Hour)); err != nil || done.Deferred || done.Releases == 0 {
		t.Fatalf("compaction with nothing put meanwhile: %+v, %v", done, err)
	}
	mustCheck(t, st, "after compaction")
}

// TestEtcdFencedCompactionRemovesNothing: a deposed owner's compaction is
// refused like any of its writes.
func TestEtcdFencedCompactionRemovesNothing(t *testing.T) {
	ctx := context.Background()
	client := etcdtest.Start(t).Client(t)
	made, err := client.Put(ctx, "/owner", "me")
	if err != nil {
		t.Fatal(err)
	}
	st := openTestEtcd(t, EtcdConfig{Client: client, Prefix: "/fc", Fence: &Fence{Key: "/owner", Revision: made.Header.Revision}})
	d := &rolloutDriver{t: t, st: st, now: t0}
	for range 4 {
		d.next()
	}
	if _, err := client.Delete(ctx, "/owner"); err != nil {
		t.Fatal(err)
	}
	before := dumpPrefix(t, client, "/fc/")
	if _, err := st.Compact(ctx, time.Now()); !errors.Is(err, ErrFenced) {
		t.Fatalf("compaction by a deposed owner: %v, want ErrFenced", err)
	}
	if after := dumpPrefix(t, client, "/fc/"); !reflect.DeepEqual(after, before) {
		t.Fatalf("a deposed owner's compaction changed the journal: %d keys before, %d after", len(before), len(after))
	}
}

// TestEtcdJournalStaysBounded: a long run (30 rounds of 100 entries of
// 8 KiB, 24 MiB in all), compacted after each round, keeps etcd's database
// under a bound: the journal's compaction compacts etcd's history too, so
// the space of what it removed is used again. Without it (the history
// kept) the database grows with everything ever written.
func TestEtcdJournalStaysBounded(t *testing.T) {
	ctx := context.Background()
	srv := etcdtest.Start(t)
	client := srv.Client(t)
	st := openTestEtcd(t, EtcdConfig{Client: client, Prefix: "/bounded"})
	message := strings.Repeat("x", 8<<10)
	var size int64
	for round := range 30 {
		for range 100 {
			if _, err := st.Append(ctx, Entry{Kind: api.EntryEvent, Message: message}); err != nil {
				t.Fatal(err)
			}
		}
		done, err := st.Compact(ctx, time.Now().Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if done.Entries == 0 {
			t.Fatalf("round %d: the compaction removed no entry", round)
		}
		status, err := client.Status(ctx, srv.Endpoint)
		if err != nil {
			t.Fatal(err)
		}
		size = max(size, status.DbSize)
	}
	const bound = 12 << 20
	t.Logf("etcd's database peaked at %.1f MiB for 24 MiB of entries written", float64(size)/(1<<20))
	if size > bound {
		t.Fatalf("etcd's database grew to %d bytes, over %d: the journal is not bounded", size, bound)
	}
	mustCheck(t, st, "compacted every round")
}
