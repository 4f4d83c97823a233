package journal

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/durable-delivery/durable/api"
)

func openTestBolt(t *testing.T, path string) *Bolt {
	t.Helper()
	b, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func newTestBolt(t *testing.T) *Bolt {
	t.Helper()
	return openTestBolt(t, filepath.Join(t.TempDir(), "journal.db"))
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestBoltRevisionRoundTripAndOrder(t *testing.T) {
	ctx := context.Background()
	b := newTestBolt(t)
	revs := []Revision{
		{Commit: "c1", Tree: "t1", Branch: "main", Message: "first", Author: "A <a@x>", SeenAt: t0, Verdict: api.RevisionAccepted,
			Releases: map[string]string{"web": "r1"}, DesiredState: json.RawMessage(`{"services":{"web":{}}}`)},
		{Commit: "c3", Tree: "t3", SeenAt: t0.Add(2 * time.Minute), Verdict: api.RevisionRejected, Errors: []string{"app.cue:3:4: bad"}},
		{Commit: "c2", Tree: "t2", SeenAt: t0.Add(time.Minute), Verdict: api.RevisionAccepted},
	}
	for _, r := range revs {
		if err := b.PutRevision(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.Revision(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, revs[0]) {
		t.Errorf("Revision(c1) = %+v, want %+v", got, revs[0])
	}
	all, err := b.Revisions(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if commits := revisionCommits(all); !reflect.DeepEqual(commits, []string{"c3", "c2", "c1"}) {
		t.Errorf("Revisions order = %v, want newest seen first", commits)
	}
	two, err := b.Revisions(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if commits := revisionCommits(two); !reflect.DeepEqual(commits, []string{"c3", "c2"}) {
		t.Errorf("Revisions(limit 2) = %v", commits)
	}
	if _, err := b.Revisions(ctx, -1); err == nil {
		t.Error("Revisions(-1) succeeded, want an error")
	}

	// A Put with the same commit replaces the record.
	updated := revs[1]
	updated.Verdict = api.RevisionAccepted
	updated.Errors = nil
	if err := b.PutRevision(ctx, updated); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Revision(ctx, "c3"); !reflect.DeepEqual(got, updated) {
		t.Errorf("after update Revision(c3) = %+v", got)
	}
}

func revisionCommits(rs []Revision) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Commit)
	}
	return out
}

func TestBoltReleaseRoundTrip(t *testing.T) {
	ctx := context.Background()
	b := newTestBolt(t)
	want := Release{ID: "rel-1", Service: "web", Artifact: "127.0.0.1:5000/web@sha256:abc", Revision: "c1", SeenAt: t0,
		Spec: json.RawMessage(`{"replicas":2}`)}
	if err := b.PutRelease(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := b.Release(ctx, "rel-1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Release = %+v, want %+v", got, want)
	}
}

func TestBoltInfraSetRoundTripAndOrder(t *testing.T) {
	ctx := context.Background()
	b := newTestBolt(t)
	sets := []InfraSet{
		{ID: "s-b", Service: "web", Stage: "prod", Target: "t1", Release: "r2", State: api.SetServing, CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour), ServedAt: t0.Add(time.Hour)},
		{ID: "s-a", Service: "web", Stage: "prod", Target: "t1", Release: "r1", State: api.SetWarm, Reason: "replaced by s-b", CreatedAt: t0, UpdatedAt: t0},
		{ID: "s-c", Service: "web", Stage: "prod", Target: "t1", Release: "r3", State: api.SetRemoved, CreatedAt: t0.Add(2 * time.Hour), UpdatedAt: t0.Add(2 * time.Hour)},
	}
	for _, s := range sets {
		if err := b.PutInfraSet(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.InfraSet(ctx, "s-b")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sets[0]) {
		t.Errorf("InfraSet = %+v, want %+v", got, sets[0])
	}
	all, err := b.InfraSets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range all {
		ids = append(ids, s.ID)
	}
	if !reflect.DeepEqual(ids, []string{"s-a", "s-b", "s-c"}) {
		t.Errorf("InfraSets order = %v, want by CreatedAt", ids)
	}
}

func TestBoltRolloutRoundTripAndOrder(t *testing.T) {
	ctx := context.Background()
	b := newTestBolt(t)
	rs := []Rollout{
		{ID: "web/prod/t1/r2", Service: "web", Stage: "prod", Target: "t1", Release: "r2", FromRelease: "r1", Revision: "c2",
			Set: "s-b", Phase: api.RolloutSwitching, StartedAt: t0.Add(time.Minute), UpdatedAt: t0.Add(time.Minute)},
		{ID: "web/prod/t1/r1", Service: "web", Stage: "prod", Target: "t1", Release: "r1", Revision: "c1",
			Set: "s-a", Phase: api.RolloutSucceeded, Rollback: true, Message: "done", StartedAt: t0, UpdatedAt: t0},
	}
	for _, r := range rs {
		if err := b.PutRollout(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.Rollout(ctx, rs[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rs[1]) {
		t.Errorf("Rollout = %+v, want %+v", got, rs[1])
	}
	all, err := b.Rollouts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != rs[1].ID || all[1].ID != rs[0].ID {
		t.Errorf("Rollouts = %+v, want ordered by StartedAt", all)
	}
}

func TestBoltNotFound(t *testing.T) {
	ctx := context.Background()
	b := newTestBolt(t)
	lookups := map[string]func() error{
		"revision":  func() error { _, err := b.Revision(ctx, "nope-id"); return err },
		"release":   func() error { _, err := b.Release(ctx, "nope-id"); return err },
		"infra-set": func() error { _, err := b.InfraSet(ctx, "nope-id"); return err },
		"rollout":   func() error { _, err := b.Rollout(ctx, "nope-id"); return err },
	}
	for kind, lookup := range lookups {
		err := lookup()
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", kind, err)
			continue
		}
		if !strings.Contains(err.Error(), "nope-id") {
			t.Errorf("%s: error %q does not name the id", kind, err)
		}
	}
}

func TestBoltRejectsBadRecords(t *testing.T) {
	ctx := context.Background()
	b := newTestBolt(t)
	cases := map[string]struct {
		put  func() error
		want string
	}{
		"empty id": {func() error { return b.PutRelease(ctx, Release{}) }, "empty id"},
		"huge id":  {func() error { return b.PutInfraSet(ctx, InfraSet{ID: strings.Repeat("x", 5000)}) }, "id is 5000 bytes"},
		"huge record": {func() error {
			return b.PutRevision(ctx, Revision{Commit: "c", Message: strings.Repeat("m", maxRecordBytes)})
		}, "more than the"},
		"bad raw json":  {func() error { return b.PutRelease(ctx, Release{ID: "r", Spec: json.RawMessage(`{nope`)}) }, "encode"},
		"no entry kind": {func() error { _, err := b.Append(ctx, Entry{Message: "x"}); return err }, "empty kind"},
		"huge entry": {func() error {
			_, err := b.Append(ctx, Entry{Kind: api.EntryEvent, Message: strings.Repeat("m", maxRecordBytes)})
			return err
		}, "more than the"},
	}
	for name, c := range cases {
		err := c.put()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, c.want)
		}
	}
	// Refused entries consume no Seq.
	e, err := b.Append(ctx, Entry{Kind: api.EntryEvent, Message: "ok"})
	if err != nil || e.Seq != 1 {
		t.Errorf("Append after refusals = %+v, %v; want Seq 1", e, err)
	}
}

func TestBoltCanceledContext(t *testing.T) {
	b := newTestBolt(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Append(ctx, Entry{Kind: api.EntryEvent}); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with canceled ctx: %v", err)
	}
	if _, err := b.Revisions(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Revisions with canceled ctx: %v", err)
	}
}

func TestBoltAppendAndEntries(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	b, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := b.Append(ctx, Entry{Kind: api.EntryIntent, Action: "create-set", Service: "web", Message: "create s-a",
		Detail: json.RawMessage(`{"replicas":2}`)})
	if err != nil {
		t.Fatal(err)
	}
	if first.Seq != 1 || first.Time.IsZero() || first.Time.Location() != time.UTC {
		t.Errorf("first entry = %+v, want Seq 1 and a UTC time", first)
	}
	given := Entry{Kind: api.EntryOutcome, Time: t0, Intent: first.Seq, Message: "created"}
	second, err := b.Append(ctx, given)
	if err != nil {
		t.Fatal(err)
	}
	if second.Seq != 2 || !second.Time.Equal(t0) {
		t.Errorf("second entry = %+v, want Seq 2 and the given time", second)
	}
	for range 3 {
		if _, err := b.Append(ctx, Entry{Kind: api.EntryEvent, Message: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	// Seq continues after a reopen, with no gap.
	b = openTestBolt(t, path)
	next, err := b.Append(ctx, Entry{Kind: api.EntryEvent, Message: "after reopen"})
	if err != nil {
		t.Fatal(err)
	}
	if next.Seq != 6 {
		t.Errorf("Seq after reopen = %d, want 6", next.Seq)
	}

	all, err := b.Entries(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("Entries = %d entries, want 6", len(all))
	}
	for i, e := range all {
		if e.Seq != uint64(i+1) {
			t.Errorf("entry %d has Seq %d", i, e.Seq)
		}
	}
	if !reflect.DeepEqual(all[0], first) {
		t.Errorf("stored first entry = %+v, want %+v", all[0], first)
	}
	page, err := b.Entries(ctx, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].Seq != 3 || page[1].Seq != 4 {
		t.Errorf("Entries(after 2, limit 2) = %+v", page)
	}
	if tail, _ := b.Entries(ctx, 6, 0); len(tail) != 0 {
		t.Errorf("Entries after the last = %+v, want none", tail)
	}
	if tail, err := b.Entries(ctx, ^uint64(0), 0); err != nil || len(tail) != 0 {
		t.Errorf("Entries after max uint64 = %+v, %v; want none", tail, err)
	}
}

func TestBoltConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	b := newTestBolt(t)
	const writers, each = 8, 25
	seqs := make(chan uint64, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				e, err := b.Append(ctx, Entry{Kind: api.EntryEvent, Message: "w", Stage: string(rune('a' + w)), Intent: uint64(i)})
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- e.Seq
			}
		})
	}
	wg.Wait()
	close(seqs)
	seen := make(map[uint64]bool)
	for s := range seqs {
		if seen[s] {
			t.Errorf("Seq %d assigned twice", s)
		}
		seen[s] = true
	}
	for s := uint64(1); s <= writers*each; s++ {
		if !seen[s] {
			t.Errorf("Seq %d missing", s)
		}
	}
}

// TestBoltZeroLockTimeoutIsTheDefault: a zero timeout waits the default,
// never forever (bbolt's zero).
func TestBoltZeroLockTimeoutIsTheDefault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	openTestBolt(t, path)
	done := make(chan error, 1)
	go func() {
		_, err := OpenBolt(path, BoltOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrJournalInUse) {
			t.Fatalf("second open with no timeout given: %v, want ErrJournalInUse", err)
		}
	case <-time.After(DefaultLockTimeout + 10*time.Second):
		t.Fatal("a second open with no timeout given waited for the lock forever")
	}
}

// TestBoltAppendRefusesWhatCannotBeEncoded: an entry whose detail is not
// JSON is refused, not written empty (an outcome lost without a word).
func TestBoltAppendRefusesWhatCannotBeEncoded(t *testing.T) {
	b := newTestBolt(t)
	_, err := b.Append(context.Background(), Entry{Kind: api.EntryOutcome, Detail: json.RawMessage("{not json")})
	if err == nil || !strings.Contains(err.Error(), "encode") {
		t.Fatalf("append of an entry whose detail is not JSON: %v, want an encode error", err)
	}
	if es, _ := b.Entries(context.Background(), 0, 0); len(es) != 0 {
		t.Fatalf("the refused entry was written: %+v", es)
	}
}

func TestBoltSecondOpenerFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	openTestBolt(t, path)
	for _, readOnly := range []bool{false, true} {
		_, err := OpenBolt(path, BoltOptions{ReadOnly: readOnly, LockTimeout: 50 * time.Millisecond})
		if !errors.Is(err, ErrJournalInUse) {
			t.Fatalf("second open (read-only %v): err = %v, want ErrJournalInUse", readOnly, err)
		}
		for _, want := range []string{path, "running reconciler", "API"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("second open error %q does not mention %q", err, want)
			}
		}
	}
}

func TestBoltReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	w, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(ctx, Entry{Kind: api.EntryEvent, Message: "hello"}); err != nil {
		t.Fatal(err)
	}
	if err := w.PutRevision(ctx, Revision{Commit: "c1", SeenAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	// Two readers at once share the lock.
	r1, err := OpenBolt(path, BoltOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := OpenBolt(path, BoltOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	es, err := r2.Entries(ctx, 0, 0)
	if err != nil || len(es) != 1 || es[0].Message != "hello" {
		t.Errorf("read-only Entries = %+v, %v", es, err)
	}
	if _, err := r1.Revision(ctx, "c1"); err != nil {
		t.Errorf("read-only Revision: %v", err)
	}
	if _, err := r1.Append(ctx, Entry{Kind: api.EntryEvent}); err == nil {
		t.Error("Append on a read-only journal succeeded")
	}
	// A writer cannot open while readers hold the lock.
	if _, err := OpenBolt(path, BoltOptions{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, ErrJournalInUse) {
		t.Errorf("writer open under readers: %v, want ErrJournalInUse", err)
	}
}

func TestBoltOpenBadFiles(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a journal\n", 2000)), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		path string
		opts BoltOptions
		want string
	}{
		"no path":             {"", BoltOptions{}, "no path"},
		"negative timeout":    {filepath.Join(dir, "j.db"), BoltOptions{LockTimeout: -time.Second}, "negative"},
		"read-only missing":   {filepath.Join(dir, "missing.db"), BoltOptions{ReadOnly: true}, "creates it on first start"},
		"garbage file":        {garbage, BoltOptions{}, "not a readable Durable journal"},
		"garbage read-only":   {garbage, BoltOptions{ReadOnly: true}, "not a readable Durable journal"},
		"directory as file":   {dir, BoltOptions{}, dir},
		"read-only no bucket": {emptyBoltFile(t), BoltOptions{ReadOnly: true}, "missing"},
	}
	for name, c := range cases {
		b, err := OpenBolt(c.path, c.opts)
		if err == nil {
			_ = b.Close()
			t.Errorf("%s: OpenBolt succeeded, want an error", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not contain %q", name, err, c.want)
		}
	}
}

// emptyBoltFile makes a valid bbolt file without the journal's buckets.
func emptyBoltFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "empty.db")
	b, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketEntries) }); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
