package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/reconcile"
)

// syncBuffer is a bytes.Buffer safe to write and read from two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds, failing the test after a long while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}

// TestStatusWatchPrintsOnlyOnChange watches a real journal: the status is
// printed once however often it is read unchanged, again when a revision
// is journaled, and the watch ends when its context does.
func TestStatusWatchPrintsOnlyOnChange(t *testing.T) {
	for _, f := range allFormats {
		t.Run(string(f), func(t *testing.T) {
			st, err := journal.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), journal.BoltOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var reads atomic.Int64
			read := func(ctx context.Context) (api.Status, error) {
				reads.Add(1)
				return reconcile.ReadStatus(ctx, st)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out syncBuffer
			done := make(chan error, 1)
			go func() { done <- watchStatus(ctx, &out, statusWatch{read: read, format: f, interval: time.Millisecond}) }()

			waitFor(t, "20 reads", func() bool { return reads.Load() >= 20 })
			first := out.String()
			if first == "" || strings.Contains(first, "---") || strings.Count(first, `"ready"`) > 1 {
				t.Fatalf("after 20 unchanged reads the status was printed other than once:\n%s", first)
			}
			rev := journal.Revision{Commit: "feedfacecafe0123", Verdict: api.RevisionRejected, SeenAt: time.Now(), Errors: []string{"a.cue:1:2: broken"}}
			if err := st.PutRevision(context.Background(), rev); err != nil {
				t.Fatal(err)
			}
			if f == formatTable {
				return // the table lists sets: a revision is no change of it
			}
			waitFor(t, "the new revision printed", func() bool { return strings.Contains(out.String(), "feedfacecafe") })
			n := reads.Load()
			waitFor(t, "20 more reads", func() bool { return reads.Load() >= n+20 })
			if got := strings.Count(out.String(), "feedfacecafe"); got != 1 {
				t.Fatalf("the changed status was printed %d times:\n%s", got, out.String())
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the watch did not end with its context")
			}
		})
	}
}
