package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/durable-delivery/durable/api"
)

// TestRevisionStateIsStoredCompressed: a revision's desired state reads back
// byte for byte, is stored a fraction of its size, and one written before
// compression (plain JSON) reads as it was; a damaged compressed state is
// an error naming the revision, not a revision without a state.
func TestRevisionStateIsStoredCompressed(t *testing.T) {
	ctx := context.Background()
	b, err := OpenBolt(filepath.Join(t.TempDir(), "journal.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	services := map[string]any{}
	for i := range 2000 {
		services[fmt.Sprintf("svc-%d", i)] = map[string]any{"artifact": fmt.Sprintf("registry.example/team/svc-%d@sha256:%064d", i, i), "replicas": 2, "env": map[string]string{"PORT": "8080"}}
	}
	state, err := json.Marshal(map[string]any{"services": services})
	if err != nil {
		t.Fatal(err)
	}
	rev := Revision{Commit: "c1", SeenAt: time.Now().UTC(), Verdict: api.RevisionAccepted, DesiredState: state}
	if err := b.PutRevision(ctx, rev); err != nil {
		t.Fatal(err)
	}
	got, err := b.Revision(ctx, "c1")
	if err != nil || string(got.DesiredState) != string(state) {
		t.Fatalf("read back %d bytes (%v), want the %d stored", len(got.DesiredState), err, len(state))
	}
	var stored []byte
	_ = b.db.View(func(tx *bolt.Tx) error {
		stored = append(stored, tx.Bucket(bucketRevisions).Get([]byte("c1"))...)
		return nil
	})
	if len(stored)*4 > len(state) {
		t.Fatalf("the record is %d bytes for a state of %d: not compressed", len(stored), len(state))
	}

	// A revision as journals before compression wrote it.
	old, _ := json.Marshal(Revision{Commit: "c0", SeenAt: rev.SeenAt.Add(-time.Hour), Verdict: api.RevisionAccepted, DesiredState: json.RawMessage(`{"services":{}}`)})
	damaged, _ := json.Marshal(storedRevision{Revision: Revision{Commit: "c2", SeenAt: rev.SeenAt.Add(time.Hour)}, DesiredStateFlate: []byte("not flate at all")})
	err = b.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketRevisions).Put([]byte("c0"), old); err != nil {
			return err
		}
		return tx.Bucket(bucketRevisions).Put([]byte("c2"), damaged)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Revision(ctx, "c0"); err != nil || string(got.DesiredState) != `{"services":{}}` {
		t.Fatalf("a revision stored as plain JSON read as %q (%v)", got.DesiredState, err)
	}
	if _, err := b.Revision(ctx, "c2"); err == nil || !strings.Contains(err.Error(), "revision c2") {
		t.Fatalf("a damaged state read with %v; want an error naming c2", err)
	}
	// The listing decompresses only what it returns: the newest is c2.
	if _, err := b.Revisions(ctx, 0); err == nil {
		t.Fatal("listing every revision, the damaged one read")
	}
	if err := b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketRevisions).Delete([]byte("c2")) }); err != nil {
		t.Fatal(err)
	}
	revs, err := b.Revisions(ctx, 0)
	if err != nil || len(revs) != 2 || revs[0].Commit != "c1" || string(revs[0].DesiredState) != string(state) || revs[1].Commit != "c0" {
		t.Fatalf("Revisions: %d (%v)", len(revs), err)
	}
}

// TestRevisionStateRoundTripsGenerated: generated desired states (empty,
// tiny, large, with escapes, control bytes and non-ASCII text) read back
// byte for byte through the compressed record.
func TestRevisionStateRoundTripsGenerated(t *testing.T) {
	ctx := context.Background()
	b, err := OpenBolt(filepath.Join(t.TempDir(), "journal.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rng := rand.New(rand.NewPCG(3, 5))
	alphabet := []rune("ab\"\\\n\t\x00\x1fé漢😀 {}[]:,")
	for i := range 150 {
		var state json.RawMessage
		if i%10 != 0 { // every tenth has no state at all
			values := make([]string, rng.IntN(1+i*i))
			for j := range values {
				r := make([]rune, rng.IntN(20))
				for k := range r {
					r[k] = alphabet[rng.IntN(len(alphabet))]
				}
				values[j] = string(r)
			}
			if state, err = json.Marshal(map[string]any{"services": values}); err != nil {
				t.Fatal(err)
			}
		}
		commit := fmt.Sprintf("c%d", i)
		if err := b.PutRevision(ctx, Revision{Commit: commit, DesiredState: state}); err != nil {
			t.Fatal(err)
		}
		got, err := b.Revision(ctx, commit)
		if err != nil || !bytes.Equal(got.DesiredState, state) {
			t.Fatalf("case %d: read back %d bytes (%v), stored %d", i, len(got.DesiredState), err, len(state))
		}
	}
}
