package source

import (
	"context"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/gittest"
)

// waitResult is a generous deadline: the machine is shared and slow, and
// these tests assert what happens, never how fast.
const waitResult = time.Minute

type fetchResult struct {
	snap Snapshot
	err  error
}

// startWatch runs Watch on s until the test ends and returns its results
// and a channel closed when Watch has returned.
func startWatch(t *testing.T, s *Source) (context.CancelFunc, <-chan fetchResult, <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan fetchResult, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Watch(ctx, func(snap Snapshot, err error) { results <- fetchResult{snap, err} })
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return cancel, results, done
}

func nextResult(t *testing.T, results <-chan fetchResult) fetchResult {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-time.After(waitResult):
		t.Fatal("Watch reported nothing")
		return fetchResult{}
	}
}

func TestWatchTriggerFetchesAtOnce(t *testing.T) {
	repo, first := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	s := newSource(t, Config{URL: repo, Interval: 24 * time.Hour})
	_, results, _ := startWatch(t, s)

	if r := nextResult(t, results); r.err != nil || r.snap.Commit != first {
		t.Fatalf("first Watch result = %s, %v; want %s", r.snap.Commit, r.err, first)
	}
	second := commitFiles(t, repo, "second", map[string]string{"app.cue": "x: 2\n"})
	s.Trigger()
	// With a day between polls, only the trigger can bring this result.
	if r := nextResult(t, results); r.err != nil || r.snap.Commit != second {
		t.Fatalf("Watch result after Trigger = %s, %v; want %s", r.snap.Commit, r.err, second)
	}
	// An unchanged head is reported too; the caller dedups.
	s.Trigger()
	if r := nextResult(t, results); r.err != nil || r.snap.Commit != second {
		t.Fatalf("Watch result after a second Trigger = %s, %v; want %s", r.snap.Commit, r.err, second)
	}
}

func TestWatchReportsErrorsAndKeepsGoing(t *testing.T) {
	repo, first := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	s := newSource(t, Config{URL: repo + ".missing", Interval: 24 * time.Hour})
	_, results, _ := startWatch(t, s)
	if r := nextResult(t, results); r.err == nil {
		t.Fatalf("Watch of a missing repository reported %s, want an error", r.snap.Commit)
	}
	gittest.Run(t, repo, "clone", "-q", "--bare", repo, repo+".missing")
	s.Trigger()
	if r := nextResult(t, results); r.err != nil || r.snap.Commit != first {
		t.Fatalf("Watch after the repository appeared = %s, %v; want %s", r.snap.Commit, r.err, first)
	}
}

func TestWatchStopsOnCancel(t *testing.T) {
	repo, _ := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	s := newSource(t, Config{URL: repo, Interval: 24 * time.Hour})
	cancel, results, done := startWatch(t, s)
	nextResult(t, results)
	cancel()
	select {
	case <-done:
	case <-time.After(waitResult):
		t.Fatal("Watch did not return after cancel")
	}
}

func TestWatchWithCanceledContextCallsNothing(t *testing.T) {
	repo, _ := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	s := newSource(t, Config{URL: repo})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Watch(ctx, func(Snapshot, error) { t.Error("fn called after cancel") })
}

func TestTriggerNeverBlocks(t *testing.T) {
	s := newSource(t, Config{URL: "/srv/repo"})
	for range 100 {
		s.Trigger()
	}
	if len(s.trigger) != 1 {
		t.Errorf("pending triggers = %d, want them coalesced into 1", len(s.trigger))
	}
}

func TestJitterStaysInRange(t *testing.T) {
	const d = 30 * time.Second
	lo, hi := d, d
	for range 10000 {
		j := jitter(d, 0.1)
		if j < 27*time.Second || j > 33*time.Second {
			t.Fatalf("jitter(30s, 0.1) = %s, outside ±10%%", j)
		}
		lo, hi = min(lo, j), max(hi, j)
	}
	if lo == d || hi == d {
		t.Errorf("jitter never moved below or above %s (range %s..%s)", d, lo, hi)
	}
}

// Fetched is told of each fetch Watch makes, before its result is handed
// over, with the same error.
func TestWatchTellsFetched(t *testing.T) {
	repo, _ := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	type fetched struct {
		took time.Duration
		err  error
	}
	told := make(chan fetched, 16)
	s := newSource(t, Config{URL: repo + ".missing", Interval: 24 * time.Hour,
		Fetched: func(took time.Duration, err error) { told <- fetched{took, err} }})
	_, results, _ := startWatch(t, s)
	r := nextResult(t, results)
	f := <-told // buffered before the result was handed over
	if r.err == nil || f.err != r.err || f.took <= 0 {
		t.Fatalf("Fetched told %v after %s; Watch reported %v", f.err, f.took, r.err)
	}
	gittest.Run(t, repo, "clone", "-q", "--bare", repo, repo+".missing")
	s.Trigger()
	if r := nextResult(t, results); r.err != nil {
		t.Fatal(r.err)
	}
	if f := <-told; f.err != nil || f.took <= 0 {
		t.Fatalf("Fetched told %v after %s of a fetch that worked", f.err, f.took)
	}
}
