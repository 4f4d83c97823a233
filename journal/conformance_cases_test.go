package journal

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testRevisionRoundTripAndOrder(t *testing.T, k storeKind) {
	ctx := context.Background()
	st, _ := k.open(t)
	revs := []Revision{
		{Commit: "c1", Tree: "t1", Branch: "main", Message: "first", Author: "A <a@x>", SeenAt: t0, Verdict: api.RevisionAccepted,
			Releases: map[string]string{"web": "r1"}, DesiredState: json.RawMessage(`{"services":{"web":{}}}`)},
		{Commit: "c3", Tree: "t3", SeenAt: t0.Add(2 * time.Minute), Verdict: api.RevisionRejected, Errors: []string{"app.cue:3:4: bad"}},
		{Commit: "c2", Tree: "t2", SeenAt: t0.Add(time.Minute), Verdict: api.RevisionAccepted},
		// Seen at the same instant as c2: ties go by commit.
		{Commit: "c0", Tree: "t0", SeenAt: t0.Add(time.Minute), Verdict: api.RevisionAccepted},
	}
	for _, r := range revs {
		if err := st.PutRevision(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := st.Revision(ctx, "c1"); err != nil || !reflect.DeepEqual(got, revs[0]) {
		t.Errorf("Revision(c1) = %+v, %v; want %+v", got, err, revs[0])
	}
	if all, err := st.Revisions(ctx, 0); err != nil || !slices.Equal(revisionCommits(all), []string{"c3", "c0", "c2", "c1"}) {
		t.Errorf("Revisions = %v, %v; want newest seen first", revisionCommits(all), err)
	}
	if two, err := st.Revisions(ctx, 2); err != nil || !slices.Equal(revisionCommits(two), []string{"c3", "c0"}) {
		t.Errorf("Revisions(limit 2) = %v, %v", revisionCommits(two), err)
	}
	if _, err := st.Revisions(ctx, -1); err == nil {
		t.Error("Revisions(-1) succeeded, want an error")
	}
	// A Put with the same commit replaces the record.
	updated := revs[1]
	updated.Verdict, updated.Errors = api.RevisionAccepted, nil
	if err := st.PutRevision(ctx, updated); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Revision(ctx, "c3"); !reflect.DeepEqual(got, updated) {
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

func testReleaseRoundTrip(t *testing.T, k storeKind) {
	ctx := context.Background()
	st, _ := k.open(t)
	want := Release{ID: "rel-1", Service: "web", Artifact: "127.0.0.1:5000/web@sha256:abc", Revision: "c1", SeenAt: t0,
		Spec: json.RawMessage(`{"replicas":2}`)}
	if err := st.PutRelease(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Release(ctx, "rel-1"); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Release = %+v, %v; want %+v", got, err, want)
	}
}

func testInfraSetRoundTripAndOrder(t *testing.T, k storeKind) {
	ctx := context.Background()
	st, _ := k.open(t)
	sets := []InfraSet{
		{ID: "s-b", Service: "web", Stage: "prod", Target: "t1", Release: "r2", State: api.SetServing, CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour), ServedAt: t0.Add(time.Hour)},
		{ID: "s-a", Service: "web", Stage: "prod", Target: "t1", Release: "r1", State: api.SetWarm, Reason: "replaced by s-b", CreatedAt: t0, UpdatedAt: t0},
		{ID: "s-c", Service: "web", Stage: "prod", Target: "t1", Release: "r3", State: api.SetRemoved, CreatedAt: t0.Add(2 * time.Hour), UpdatedAt: t0.Add(2 * time.Hour)},
		{ID: "api-a", Service: "api", Stage: "prod", Target: "t1", Release: "r9", State: api.SetCanary, Weight: 10, CreatedAt: t0.Add(90 * time.Minute)},
	}
	for _, s := range sets {
		if err := st.PutInfraSet(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := st.InfraSet(ctx, "s-b"); err != nil || !reflect.DeepEqual(got, sets[0]) {
		t.Errorf("InfraSet = %+v, %v; want %+v", got, err, sets[0])
	}
	all, err := st.InfraSets(ctx)
	if ids := setIDs(all); err != nil || !slices.Equal(ids, []string{"s-a", "s-b", "api-a", "s-c"}) {
		t.Errorf("InfraSets = %v, %v; want by CreatedAt", ids, err)
	}
	web, err := st.ServiceInfraSets(ctx, "web")
	if ids := setIDs(web); err != nil || !slices.Equal(ids, []string{"s-a", "s-b", "s-c"}) {
		t.Errorf("ServiceInfraSets(web) = %v, %v", ids, err)
	}
	if none, err := st.ServiceInfraSets(ctx, "db"); err != nil || len(none) != 0 {
		t.Errorf("ServiceInfraSets(db) = %v, %v; want none", none, err)
	}
}

func setIDs(sets []InfraSet) []string {
	var out []string
	for _, s := range sets {
		out = append(out, s.ID)
	}
	return out
}

func testRolloutRoundTripAndOrder(t *testing.T, k storeKind) {
	ctx := context.Background()
	st, _ := k.open(t)
	rs := []Rollout{
		{ID: "web/prod/t1/r2", Service: "web", Stage: "prod", Target: "t1", Release: "r2", FromRelease: "r1", Revision: "c2",
			Set: "s-b", Phase: api.RolloutSwitching, StartedAt: t0.Add(time.Minute), UpdatedAt: t0.Add(time.Minute)},
		{ID: "web/prod/t1/r1", Service: "web", Stage: "prod", Target: "t1", Release: "r1", Revision: "c1",
			Set: "s-a", Phase: api.RolloutSucceeded, Rollback: true, Message: "done", StartedAt: t0, UpdatedAt: t0},
		{ID: "api/prod/t1/r7", Service: "api", Stage: "prod", Target: "t1", Release: "r7", Phase: api.RolloutCanary,
			StepBase: map[string]api.Counters{"s-x": {Requests: 10}}, StartedAt: t0.Add(30 * time.Second)},
	}
	for _, r := range rs {
		if err := st.PutRollout(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := st.Rollout(ctx, rs[1].ID); err != nil || !reflect.DeepEqual(got, rs[1]) {
		t.Errorf("Rollout = %+v, %v; want %+v", got, err, rs[1])
	}
	all, err := st.Rollouts(ctx)
	if ids := rolloutIDs(all); err != nil || !slices.Equal(ids, []string{rs[1].ID, rs[2].ID, rs[0].ID}) {
		t.Errorf("Rollouts = %v, %v; want by StartedAt", ids, err)
	}
	if !reflect.DeepEqual(all[1], rs[2]) {
		t.Errorf("listed rollout = %+v, want %+v", all[1], rs[2])
	}
	web, err := st.ServiceRollouts(ctx, "web")
	if ids := rolloutIDs(web); err != nil || !slices.Equal(ids, []string{rs[1].ID, rs[0].ID}) {
		t.Errorf("ServiceRollouts(web) = %v, %v", ids, err)
	}
}

func rolloutIDs(rs []Rollout) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func testNotFound(t *testing.T, k storeKind) {
	ctx := context.Background()
	st, _ := k.open(t)
	// A record whose id the unknown ones start with, or end with, is not
	// theirs.
	if err := st.PutRelease(ctx, Release{ID: "nope"}); err != nil {
		t.Fatal(err)
	}
	lookups := map[string]func(id string) error{
		"revision":  func(id string) error { _, err := st.Revision(ctx, id); return err },
		"release":   func(id string) error { _, err := st.Release(ctx, id); return err },
		"infra-set": func(id string) error { _, err := st.InfraSet(ctx, id); return err },
		"rollout":   func(id string) error { _, err := st.Rollout(ctx, id); return err },
	}
	for kind, lookup := range lookups {
		for _, id := range []string{"nope-id", "nope/", "../releases/nope"} {
			err := lookup(id)
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("%s %q: err = %v, want ErrNotFound", kind, id, err)
				continue
			}
			if !strings.Contains(err.Error(), id) {
				t.Errorf("%s: error %q does not name the id", kind, err)
			}
		}
	}
}

func testCanceledContext(t *testing.T, k storeKind) {
	st, _ := k.open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"Append":     func() error { _, err := st.Append(ctx, Entry{Kind: api.EntryEvent}); return err },
		"Revisions":  func() error { _, err := st.Revisions(ctx, 0); return err },
		"PutRollout": func() error { return st.PutRollout(ctx, Rollout{ID: "r", Phase: api.RolloutCreating}) },
		"Entries":    func() error { _, err := st.Entries(ctx, 0, 0); return err },
		"InfraSet":   func() error { _, err := st.InfraSet(ctx, "s"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: %v, want context.Canceled", name, err)
		}
	}
	if es, err := st.Entries(context.Background(), 0, 0); err != nil || len(es) != 0 {
		t.Errorf("a canceled Append wrote: %+v, %v", es, err)
	}
}

func testConcurrentAppends(t *testing.T, k storeKind) {
	ctx := context.Background()
	st, _ := k.open(t)
	const writers, each = 8, 25
	seqs := make(chan uint64, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				e, err := st.Append(ctx, Entry{Kind: api.EntryEvent, Message: "w", Stage: string(rune('a' + w)), Intent: uint64(i)})
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
	checkSeqsOnce(t, seqs, writers*each)
	all, err := st.Entries(ctx, 0, 0)
	if err != nil || len(all) != writers*each {
		t.Fatalf("Entries = %d entries, %v; want %d", len(all), err, writers*each)
	}
}

// checkSeqsOnce fails unless seqs are 1..n, each once.
func checkSeqsOnce(t *testing.T, seqs <-chan uint64, n int) {
	t.Helper()
	seen := make(map[uint64]bool)
	for s := range seqs {
		if seen[s] {
			t.Errorf("Seq %d assigned twice", s)
		}
		seen[s] = true
	}
	for s := uint64(1); s <= uint64(n); s++ {
		if !seen[s] {
			t.Errorf("Seq %d missing", s)
		}
	}
}

func testTransitions(t *testing.T, k storeKind) {
	ctx := context.Background()
	st, reopen := k.open(t)
	putSet(t, st, "s1", api.SetCreating)
	putSet(t, st, "s1", api.SetReady)
	// The same state again is no transition.
	if err := st.PutInfraSet(ctx, InfraSet{ID: "s1", State: api.SetReady, Reason: "probed"}); err != nil {
		t.Fatal(err)
	}
	putRollout(t, st, "web/prod/t1/r1", api.RolloutCreating)
	st = reopen()
	putSet(t, st, "s1", api.SetServing)
	putRollout(t, st, "web/prod/t1/r1", api.RolloutSucceeded)
	if err := st.PutRelease(ctx, Release{ID: "r1"}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Transitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Transition{
		{Seq: 1, Kind: kindInfraSet, ID: "s1", To: "creating"},
		{Seq: 2, Kind: kindInfraSet, ID: "s1", From: "creating", To: "ready"},
		{Seq: 3, Kind: kindRollout, ID: "web/prod/t1/r1", To: "creating"},
		{Seq: 4, Kind: kindInfraSet, ID: "s1", From: "ready", To: "serving"},
		{Seq: 5, Kind: kindRollout, ID: "web/prod/t1/r1", From: "creating", To: "succeeded"},
	}
	for i := range got {
		if got[i].Time.IsZero() || got[i].Time.Location() != time.UTC {
			t.Errorf("transition %d has time %v, want a UTC time", i, got[i].Time)
		}
		got[i].Time = time.Time{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Transitions =\n%+v\nwant\n%+v", got, want)
	}
}

func testCheckPasses(t *testing.T, k storeKind) {
	ctx := context.Background()
	st, _ := k.open(t)
	if problems, err := Check(ctx, st); err != nil || len(problems) != 0 {
		t.Fatalf("check of an empty journal: %q, %v", problems, err)
	}
	appendAll(t, st, legalActions()...)
	for _, s := range []api.SetState{api.SetCreating, api.SetReady, api.SetCanary, api.SetServing, api.SetWarm, api.SetRemoving, api.SetRemoved, api.SetCreating} {
		putSet(t, st, "s1", s)
	}
	for _, p := range []api.RolloutPhase{api.RolloutCreating, api.RolloutCanary, api.RolloutSucceeded, api.RolloutSwitching, api.RolloutSucceeded} {
		putRollout(t, st, "r1", p)
	}
	if problems, err := Check(ctx, st); err != nil || len(problems) != 0 {
		t.Fatalf("check: %q, %v", problems, err)
	}
	if ranges, err := st.Compacted(ctx); err != nil || len(ranges) != 0 {
		t.Fatalf("Compacted of a journal never compacted = %v, %v; want none", ranges, err)
	}
	// A breach is seen the same way: a set that skips a state.
	putSet(t, st, "s1", api.SetServing)
	if problems, err := Check(ctx, st); err != nil || len(problems) != 1 || !strings.Contains(problems[0], "does not allow") {
		t.Fatalf("check after an illegal move: %q, %v; want one problem", problems, err)
	}
}
