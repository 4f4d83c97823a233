package journal

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/durable-delivery/durable/api"
)

type recordingObserver struct {
	entries []Entry
	puts    [][2]*Rollout
}

func (o *recordingObserver) Appended(e Entry) { o.entries = append(o.entries, e) }
func (o *recordingObserver) RolloutPut(before *Rollout, after Rollout) {
	o.puts = append(o.puts, [2]*Rollout{before, &after})
}

// refusingStore fails every write, as a journal on a full disk does.
type refusingStore struct{ Store }

func (refusingStore) Append(context.Context, Entry) (Entry, error) {
	return Entry{}, errors.New("disk full")
}
func (refusingStore) PutRollout(context.Context, Rollout) error { return errors.New("disk full") }

func TestObservedTellsEachDurableWrite(t *testing.T) {
	ctx := context.Background()
	bolt, err := OpenBolt(filepath.Join(t.TempDir(), "journal.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := &recordingObserver{}, &recordingObserver{}
	st := Observed(bolt, a, b)
	defer st.Close()

	e, err := st.Append(ctx, Entry{Kind: api.EntryEvent, Message: "drift repaired"})
	if err != nil {
		t.Fatal(err)
	}
	r := Rollout{ID: "web/prod/t1/r1", Service: "web", Stage: "prod", Target: "t1", Release: "r1", Phase: api.RolloutCreating}
	if err := st.PutRollout(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Phase = api.RolloutCanary
	if err := st.PutRollout(ctx, r); err != nil {
		t.Fatal(err)
	}
	// Writes that fail are not told.
	failing := Observed(refusingStore{bolt}, a, b)
	if _, err := failing.Append(ctx, Entry{Kind: api.EntryEvent}); err == nil {
		t.Fatal("refusing store appended")
	}
	if err := failing.PutRollout(ctx, r); err == nil {
		t.Fatal("refusing store put a rollout")
	}
	for _, o := range []*recordingObserver{a, b} {
		if len(o.entries) != 1 || o.entries[0].Seq != e.Seq || e.Seq == 0 {
			t.Fatalf("entries told %+v, want the one appended with its Seq %d", o.entries, e.Seq)
		}
		if len(o.puts) != 2 {
			t.Fatalf("%d rollout puts told, want 2", len(o.puts))
		}
		if o.puts[0][0] != nil || o.puts[0][1].Phase != api.RolloutCreating {
			t.Fatalf("first put told as %+v, want new and creating", o.puts[0])
		}
		if o.puts[1][0] == nil || o.puts[1][0].Phase != api.RolloutCreating || o.puts[1][1].Phase != api.RolloutCanary {
			t.Fatalf("second put told as %+v, want creating → canary", o.puts[1])
		}
	}
}

func TestObservedWithoutObserversIsTheStore(t *testing.T) {
	bolt, err := OpenBolt(filepath.Join(t.TempDir(), "journal.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	if st := Observed(bolt); st != Store(bolt) {
		t.Fatal("no observers should give the store itself")
	}
	if _, err := bolt.Rollout(context.Background(), "none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown rollout: %v", err)
	}
}
