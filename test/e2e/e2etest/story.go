package e2etest

import (
	"testing"

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
