package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/server"
)

// story follows the phases of the demo and keeps their results.
type story struct {
	client  *server.Client
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
	return s.watch(ctx, Phase{Name: name, Commit: commit, Version: version, Expect: "promoted"})
}

// rolledBack waits until the rollout of commit's release failed and all the
// traffic is back on the set serving version (the release before it). It
// reports whether that happened: for a bad release, this is converging.
func (s *story) rolledBack(ctx context.Context, name, commit, version string) bool {
	return s.watch(ctx, Phase{Name: name, Commit: commit, Version: version, Expect: "rolled back"})
}

func (s *story) watch(ctx context.Context, p Phase) bool {
	start := time.Now()
	var before [2]int
	if s.load != nil {
		before[0], before[1], _ = s.load.stats()
	}
	defer func() {
		p.Seconds = time.Since(start).Seconds()
		if s.load != nil {
			total, failed, _ := s.load.stats()
			p.Requests, p.FailedRequests = total-before[0], failed-before[1]
		}
		s.phases = append(s.phases, p)
		if s.follow != nil {
			s.follow.catchUp(context.Background()) // the phase's ctx is already cancelled here
		}
		switch {
		case !p.Converged:
			s.n.say("  ✗ %s did not converge: %s", p.Name, p.Error)
		case p.Expect == "rolled back":
			s.n.say("  ✓ %s: caught %.3fs after its canary step started and rolled back; the router serves %s again; %d of %d requests failed in the phase (%.2f%%)",
				p.Name, p.DetectionSeconds, p.Version, p.FailedRequests, p.Requests, 100*p.FailedShare())
		default:
			s.n.say("  ✓ %s converged in %.2fs: the router serves %s", p.Name, p.Seconds, p.Version)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var convergedAt time.Time
	for {
		st, err := s.client.Status(ctx)
		switch {
		case err != nil:
			p.Error = err.Error()
		case st.Head != nil && st.Head.Commit == p.Commit && len(st.Head.Errors) > 0:
			p.Error = fmt.Sprintf("revision rejected: %v", st.Head.Errors)
			return false
		case p.Expect == "promoted" && st.Ready.Reason == "RolloutFailed" && st.Applied != nil && st.Applied.Commit == p.Commit:
			p.Error = st.Ready.Message
			return false
		case !convergedAt.IsZero():
		case p.Expect == "promoted" && servesCommit(st, p.Commit):
			convergedAt = time.Now()
		case p.Expect == "rolled back" && rolledBackFrom(st, p.Commit):
			convergedAt = time.Now()
			p.DetectionSeconds = detection(st)
		}
		if !convergedAt.IsZero() {
			if s.load == nil || s.load.servingOnly(p.Version, convergedAt) {
				p.Converged = true
				return true
			}
		}
		select {
		case <-ctx.Done():
			if p.Error == "" {
				p.Error = fmt.Sprintf("not converged within %s (last status: see %s)", s.timeout, s.client.Base+"/v1/status")
			}
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// rolledBackFrom reports whether commit is applied, its release's rollout
// failed in a stage, and every placement routes all of its traffic to a set
// of another release: the bad release serves nowhere.
func rolledBackFrom(st api.Status, commit string) bool {
	if st.Applied == nil || st.Applied.Commit != commit || st.Ready.Reason != api.ReasonRolloutFailed {
		return false
	}
	failed := false
	for _, svc := range st.Services {
		for _, pl := range svc.Placements {
			if pl.Split == nil || pl.Split.Weight(pl.Serving) != 100 {
				return false
			}
			for _, set := range pl.Sets {
				if set.ID == pl.Serving && set.Release == svc.Release {
					return false
				}
			}
			if ro := pl.Rollout; ro != nil && ro.Release == svc.Release && ro.Phase == api.RolloutFailed {
				failed = true
			}
		}
	}
	return failed
}

// detection is the time from the start of the failed canary step to the
// rollback, on the placement where it failed.
func detection(st api.Status) float64 {
	for _, svc := range st.Services {
		for _, pl := range svc.Placements {
			if ro := pl.Rollout; ro != nil && ro.Release == svc.Release && ro.Phase == api.RolloutFailed && !ro.StepStartedAt.IsZero() {
				return ro.UpdatedAt.Sub(ro.StepStartedAt).Seconds()
			}
		}
	}
	return 0
}

// servesCommit reports whether commit is applied and every placement routes
// all of its traffic to the set running the commit's release.
func servesCommit(st api.Status, commit string) bool {
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
	st, err := s.client.Status(ctx)
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
	sum.Converged = len(s.phases) == storyPhases
	for _, p := range s.phases {
		// Only a bad release may fail requests, and no more than its
		// canary's share of them.
		sum.Converged = sum.Converged && p.Converged && (p.FailedRequests == 0 || p.Expect == "rolled back" && p.FailedShare() < maxBadShare)
	}
}
