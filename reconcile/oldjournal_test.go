package reconcile

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// A reconciler resumes from a journal written by release 4392952, and its
// status reads from it, as before the wire types moved to api.
func TestResumesFromAJournalOf4392952(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	in, err := os.Open("../journal/testdata/journal-4392952.db")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil || out.Close() != nil || in.Close() != nil {
		t.Fatal("copy the journal:", err)
	}
	st, err := journal.OpenBolt(path, journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := New(ctx, Config{}, st, nil)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if r.desired == nil || r.revision.Commit != "c1" || len(r.desired.Services) != 1 {
		t.Fatalf("resumed at %q with %+v", r.revision.Commit, r.desired)
	}
	s, err := ReadStatus(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if s.Ready.Reason != api.ReasonRevisionRejected || s.Applied == nil || s.Applied.Commit != "c1" || s.LastSeq != 5 ||
		len(s.Services) != 1 || len(s.Services[0].Placements) != 1 || s.Services[0].Placements[0].Serving != "web-set1" {
		t.Fatalf("status %+v", s)
	}
}
