package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/durable-delivery/durable/reconcile"
	"github.com/durable-delivery/durable/server"
)

// story follows the phases of the demo and keeps their results.
type story struct {
	api     *server.Client
	load    *load
	n       *narrator
	timeout time.Duration
	router  string
	// follow, when set, prints the journal up to now before a phase's
	// verdict, so the story reads in order.
	follow *follower

	phases   []Phase
	rollback float64
}

// phase waits until the reconciler serves commit with the given version:
// the status shows the commit applied and converged, the traffic adapter
// routes 100% to the set running it, and the load (once it runs) gets only
// that version. It reports whether the phase converged.
func (s *story) phase(ctx context.Context, name, commit, version string) bool {
	start := time.Now()
	p := Phase{Name: name, Commit: commit, Version: version}
	defer func() {
		p.Seconds = time.Since(start).Seconds()
		s.phases = append(s.phases, p)
		if s.follow != nil {
			s.follow.catchUp(context.Background()) // the phase's ctx is already cancelled here
		}
		if p.Converged {
			s.n.say("  ✓ %s converged in %.2fs: the router serves %s", name, p.Seconds, version)
		} else {
			s.n.say("  ✗ %s did not converge: %s", name, p.Error)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var convergedAt time.Time
	for {
		st, err := s.api.Status(ctx)
		switch {
		case err != nil:
			p.Error = err.Error()
		case st.Head != nil && st.Head.Commit == commit && len(st.Head.Errors) > 0:
			p.Error = fmt.Sprintf("revision rejected: %v", st.Head.Errors)
			return false
		case st.Ready.Reason == "RolloutFailed" && st.Applied != nil && st.Applied.Commit == commit:
			p.Error = st.Ready.Message
			return false
		case convergedAt.IsZero() && servesCommit(st, commit):
			convergedAt = time.Now()
		}
		if !convergedAt.IsZero() {
			if s.load == nil || s.load.servingOnly(version, convergedAt) {
				p.Converged = true
				return true
			}
		}
		select {
		case <-ctx.Done():
			if p.Error == "" {
				p.Error = fmt.Sprintf("not converged within %s (last status: see %s)", s.timeout, s.api.Base+"/v1/status")
			}
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// servesCommit reports whether commit is applied and every placement routes
// all of its traffic to the set running the commit's release.
func servesCommit(st reconcile.Status, commit string) bool {
	if st.Applied == nil || st.Applied.Commit != commit || !st.Ready.Status {
		return false
	}
	for _, svc := range st.Services {
		for _, pl := range svc.Placements {
			if pl.Split == nil || pl.Split.Weight(pl.Serving) != 100 {
				return false
			}
			for _, set := range pl.Sets {
				if set.ID == pl.Serving && set.Release != svc.Release {
					return false
				}
			}
		}
	}
	return true
}

// measureRollback is the time from the reconciler seeing the revert commit
// to the last request that the reverted release served: after it, every
// request goes to the warm set.
func (s *story) measureRollback(ctx context.Context, commit string) {
	st, err := s.api.Status(ctx)
	if err != nil || st.Applied == nil || st.Applied.Commit != commit {
		return
	}
	last, ok := s.load.lastServedBy("v2")
	if !ok {
		return
	}
	s.rollback = max(0, last.Sub(st.Applied.SeenAt).Seconds())
	s.n.say("  rollback: commit seen at %s, last request served by v2 started %.3fs later",
		st.Applied.SeenAt.Local().Format("15:04:05.000"), s.rollback)
}

func (s *story) summarise(sum *Summary) {
	sum.Phases = s.phases
	sum.RollbackSecond = s.rollback
	if s.load != nil {
		sum.TotalRequests, sum.FailedRequests, sum.LastError = s.load.stats()
	}
	sum.Converged = len(s.phases) == 3 && sum.FailedRequests == 0
	for _, p := range s.phases {
		sum.Converged = sum.Converged && p.Converged
	}
}
