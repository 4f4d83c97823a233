package demo

import (
	"context"

	"github.com/durable-delivery/durable/internal/harness"
)

// measureRollback is the time from the reconciler seeing the revert commit
// to the last request that the reverted release served: after it, every
// request goes to the warm set. It is 0 when it cannot be told.
func measureRollback(ctx context.Context, s *harness.Story, commit string) float64 {
	st, err := s.API.Status(ctx)
	if err != nil || st.Applied == nil || st.Applied.Commit != commit {
		return 0
	}
	last, ok := s.Load.LastServedBy("v2")
	if !ok {
		return 0
	}
	rollback := max(0, last.Sub(st.Applied.SeenAt).Seconds())
	s.Narrator.Say("  rollback: commit seen at %s, last request served by v2 started %.3fs later",
		st.Applied.SeenAt.Local().Format("15:04:05.000"), rollback)
	return rollback
}

// summarise fills sum with what the story saw: its phases, the rollback
// time and the load's counts, and whether the story converged.
func summarise(s *harness.Story, rollback float64, sum *Summary) {
	sum.Phases = s.Phases
	sum.RollbackSecond = rollback
	if s.Load != nil {
		sum.TotalRequests, sum.FailedRequests, sum.LastError = s.Load.Stats()
	}
	sum.Converged = len(s.Phases) == storyPhases
	for _, p := range s.Phases {
		// Only a bad release may fail requests, and no more than its
		// canary's share of them.
		sum.Converged = sum.Converged && p.Converged && (p.FailedRequests == 0 || p.Expect == "rolled back" && p.FailedShare() < harness.MaxBadShare)
	}
}
