package e2etest

import (
	"context"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/harness"
)

// Story is the demo's story, with what a test asserts of it.
type Story struct {
	*harness.Story
}

// AssertNoFailedRequests fails the test if any request of the load failed
// or none was sent.
func (s *Story) AssertNoFailedRequests(t testing.TB) {
	t.Helper()
	total, failed, lastErr := s.Load.Stats()
	if failed != 0 || total == 0 {
		t.Fatalf("requests: %d failed of %d (last error %q)", failed, total, lastErr)
	}
}

// AssertSwitchedWithin1s waits until a request sent a second after seen (when
// the reconciler saw a commit: a revert, a rollback) was answered, logs when the load last got
// from, and fails the test if a request sent from that second on reached
// anything but to: the promise of a revert to a warm set.
func (s *Story) AssertSwitchedWithin1s(ctx context.Context, t testing.TB, seen time.Time, from, to string) {
	t.Helper()
	const what = "the commit"
	within := seen.Add(time.Second)
	WaitFor(ctx, t, "a request sent 1s after "+what+" was seen to be answered", func() bool {
		last, ok := s.Load.LastServedBy(to)
		return ok && last.After(within)
	})
	last, _ := s.Load.LastServedBy(from)
	t.Logf("%s was seen at %s; the load last got %s at %s (%.3fs after)", what, seen.Format(time.RFC3339Nano), from, last.Format(time.RFC3339Nano), last.Sub(seen).Seconds())
	if !s.Load.ServingOnly(to, within) {
		t.Fatalf("requests sent from 1s after %s was seen still reached %s (last at %s)", what, from, last)
	}
}
