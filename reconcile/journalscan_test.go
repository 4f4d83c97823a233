package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// journaledBakes is the stage bakes of entries read all at once: what
// readJournaledBakes must agree with.
func journaledBakes(entries []journal.Entry) map[string]stageBake {
	out := map[string]stageBake{}
	addJournaledBakes(out, entries)
	return out
}

// randomBakeEntry is an entry of a journal with bakes in it: a bake's start
// or end (of a few releases, stages and start times, so that ends meet
// starts and each other), one whose detail is not a bake, or another kind.
func randomBakeEntry(rng *rand.Rand) journal.Entry {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b := stageBake{StartedAt: t0.Add(time.Duration(rng.IntN(3)) * time.Hour),
		Base: []bakeBase{{Target: "t", Set: "s", Requests: rng.Uint64N(100)}}}
	action := api.ActionBakeStarted
	if rng.IntN(2) == 0 {
		action, b.DoneAt, b.Served = api.ActionBakeDone, b.StartedAt.Add(time.Minute), rng.Uint64N(1000)
	}
	detail, _ := json.Marshal(b)
	e := journal.Entry{Kind: api.EntryEvent, Action: action, Service: []string{"web", "api"}[rng.IntN(2)],
		Stage: []string{"staging", "prod"}[rng.IntN(2)], Release: []string{"r1", "r2", "r3"}[rng.IntN(3)], Detail: detail, Message: "bake"}
	switch rng.IntN(6) {
	case 0:
		e.Detail = json.RawMessage(`"not a bake"`)
	case 1:
		e.Kind = api.EntryIntent
	}
	return e
}

// TestReadJournaledBakesAgreesWithTheWholeJournal: reading the bakes a page
// at a time gives what reading every entry at once gives, and the last Seq,
// on generated journals of 0 to 300 entries, with pages of every size from
// one entry to more than the journal.
func TestReadJournaledBakesAgreesWithTheWholeJournal(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(14, 2026))
	done, going := 0, 0
	for round := range 12 {
		st, err := journal.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), journal.BoltOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for range rng.IntN(300) {
			if _, err := st.Append(ctx, randomBakeEntry(rng)); err != nil {
				t.Fatal(err)
			}
		}
		all := mustEntries(t, st)
		want, wantLast := journaledBakes(all), uint64(0)
		if len(all) > 0 {
			wantLast = all[len(all)-1].Seq
		}
		for _, b := range want {
			if b.DoneAt.IsZero() {
				going++
			} else {
				done++
			}
		}
		for _, page := range []int{1, 2, 7, 64, entryPage} {
			got, last, err := readJournaledBakes(ctx, st, page)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.EqualFunc(got, want, bakesEqual) || last != wantLast {
				t.Fatalf("round %d, %d entries, pages of %d: got %d bakes up to %d, want %d up to %d:\n%+v\n%+v",
					round, len(all), page, len(got), last, len(want), wantLast, got, want)
			}
		}
		st.Close()
	}
	if done == 0 || going == 0 {
		t.Fatalf("the generated journals hold %d ended bakes and %d going on: both kinds must be covered", done, going)
	}
}

func bakesEqual(a, b stageBake) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// randomRevision is a revision of a generated journal: accepted with a small
// desired state and approvals of its own, or rejected; seen at one of a few
// instants, so that some are seen together and ordered by commit.
func randomRevision(rng *rand.Rand, i int) journal.Revision {
	commit := fmt.Sprintf("c%03d", rng.IntN(1000)*100+i)
	rev := journal.Revision{Commit: commit, Message: "revision " + commit,
		SeenAt: time.Date(2026, 1, 2, 3, 4, rng.IntN(5), 0, time.UTC)}
	if rng.IntN(3) == 0 {
		rev.Verdict, rev.Errors = api.RevisionRejected, []string{"x.cue:1:1: no"}
		return rev
	}
	ds := schema.DesiredState{Services: map[string]schema.Service{"web": {Name: "web", Artifact: commit}}}
	rev.Verdict = api.RevisionAccepted
	rev.DesiredState, _ = json.Marshal(ds)
	rev.Approvals, _ = json.Marshal([]policy.Approval{{Release: commit, Stage: "prod", By: "ops"}})
	return rev
}

// TestAppliedRevisionsAgreeWithAllOfThem: the status's head, applied
// revision, desired state and approvals are the same read from the
// revisions as far as the newest accepted one as from all of them, on
// generated journals of 0 to 12 revisions (none accepted, the head
// rejected, several seen at once).
func TestAppliedRevisionsAgreeWithAllOfThem(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(14, 1))
	rejectedHead, noneAccepted, fewer := 0, 0, 0
	for round := range 60 {
		st, err := journal.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), journal.BoltOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range rng.IntN(13) {
			if err := st.PutRevision(ctx, randomRevision(rng, i)); err != nil {
				t.Fatal(err)
			}
		}
		all, err := st.Revisions(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		some, err := appliedRevisions(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		var want, got api.Status
		wantDS, wantApprovals, errWant := applied(&want, all)
		gotDS, gotApprovals, errGot := applied(&got, some)
		w, _ := json.Marshal([]any{want, wantDS, wantApprovals, errWant})
		g, _ := json.Marshal([]any{got, gotDS, gotApprovals, errGot})
		if string(w) != string(g) {
			t.Fatalf("round %d, %d revisions (%d read):\n got %s\nwant %s", round, len(all), len(some), g, w)
		}
		if len(some) < len(all) {
			fewer++
		}
		switch {
		case wantDS == nil:
			noneAccepted++
		case want.Head.Verdict != api.RevisionAccepted:
			rejectedHead++
		}
		st.Close()
	}
	if rejectedHead == 0 || noneAccepted == 0 || fewer == 0 {
		t.Fatalf("%d journals with a rejected head, %d with none accepted, %d read in part: each must be generated", rejectedHead, noneAccepted, fewer)
	}
}
