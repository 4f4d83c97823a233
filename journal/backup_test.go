package journal

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
)

// TestBackupWhileAWriterAppends: copies taken while another goroutine
// appends entries and puts records (as a running reconciler does) each
// open as a journal and pass Check, and hold a prefix of what was written.
func TestBackupWhileAWriterAppends(t *testing.T) {
	ctx := context.Background()
	d := newDriver(t)
	d.b.db.NoSync = false // a real writer
	var wg sync.WaitGroup
	var rolled atomic.Int64
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				d.next()
				rolled.Add(1)
			}
		}
	}()
	file := filepath.Join(t.TempDir(), "backup.db")
	var last uint64
	for i := range 5 {
		for rolled.Load() < int64(2*i+3) { // the writer is well under way, and goes on during the copy
			time.Sleep(time.Millisecond)
		}
		got, err := SaveBackup(ctx, file, func(w io.Writer) (int64, error) {
			return d.b.WriteBackup(ctx, func(int64) io.Writer { return w })
		})
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("backup %d: %v", i, err)
		}
		if got.LastSeq < last {
			t.Errorf("backup %d holds entries up to #%d, an earlier one up to #%d", i, got.LastSeq, last)
		}
		last = got.LastSeq
		fi, err := os.Stat(file)
		if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != got.Bytes {
			t.Fatalf("backup %d: %v, mode %v, %d bytes written", i, err, fi.Mode(), got.Bytes)
		}
	}
	close(stop)
	wg.Wait()
	if last == 0 {
		t.Fatal("no backup held an entry: the writer did not run")
	}
	copied, err := OpenBolt(file, BoltOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer copied.Close()
	mustCheck(t, copied, "the last backup")
	if sets, err := copied.InfraSets(ctx); err != nil || len(sets) == 0 {
		t.Fatalf("the last backup's infra-sets: %d, %v", len(sets), err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(file)); len(entries) != 1 {
		t.Errorf("the backup's directory holds %d files, want the backup alone (no temporary file left)", len(entries))
	}
}

// TestBackupRefusals: a file that is a directory, the journal in use, a
// missing directory, and a copy that is no journal leave nothing behind.
func TestBackupRefusals(t *testing.T) {
	ctx := context.Background()
	b := newTestBolt(t)
	appendAll(t, b, Entry{Kind: api.EntryEvent, Message: "e"})
	fromB := func(w io.Writer) (int64, error) { return b.WriteBackup(ctx, func(int64) io.Writer { return w }) }
	dir := t.TempDir()
	garbage := filepath.Join(dir, "kept.db")
	if err := os.WriteFile(garbage, []byte("an earlier backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, file, want string
		copy             func(io.Writer) (int64, error)
	}{
		{"a directory", dir, "not a regular file", fromB},
		{"the journal in use", b.Path(), "journal in use", fromB},
		{"a missing directory", filepath.Join(dir, "no", "such", "x.db"), "directory must exist", fromB},
		{"a copy that is no journal", garbage, "does not open", func(w io.Writer) (int64, error) {
			n, err := io.WriteString(w, strings.Repeat("not bbolt", 1000))
			return int64(n), err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := SaveBackup(ctx, c.file, c.copy)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("SaveBackup(%s) = %v, want an error saying %q", c.file, err, c.want)
			}
		})
	}
	if data, _ := os.ReadFile(garbage); string(data) != "an earlier backup" {
		t.Errorf("a failed backup changed the file it was to replace: %q", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("failed backups left %d files in %s, want the one there before", len(entries), dir)
	}
	mustCheck(t, b, "the journal after the refusals")
}
