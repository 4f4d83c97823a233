package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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
