package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/server"
)

// Phase is one step of a story: a commit, and the version it must leave
// serving.
type Phase struct {
	Name      string  `json:"name"`
	Commit    string  `json:"commit"`
	Version   string  `json:"version"`
	Converged bool    `json:"converged"`
	Seconds   float64 `json:"seconds"`
	Error     string  `json:"error,omitempty"`
	// Expect is the outcome the phase waits for: "promoted" (the version
	// serves) or "rolled back" (a bad release caught, the version before it
	// serves again).
	Expect string `json:"expect"`
	// Requests and FailedRequests are what the load sent during the phase.
	Requests       int `json:"requests"`
	FailedRequests int `json:"failedRequests"`
	// DetectionSeconds is, for a rolled back release, the time from the
	// start of its failed canary step to the rollback.
	DetectionSeconds float64 `json:"detectionSeconds,omitempty"`
}

// FailedShare is the share of the phase's requests that failed.
func (p Phase) FailedShare() float64 {
	if p.Requests == 0 {
		return 0
	}
	return float64(p.FailedRequests) / float64(p.Requests)
}

// MaxBadShare bounds the share of a phase's requests that a bad release may
// fail: the demo's bad release fails a fifth of what it serves, at a first
// canary step of 10%.
const MaxBadShare = 0.05

// Story follows the phases of a rollout story and keeps their results.
type Story struct {
	// API is the reconciler's.
	API *server.Client
	// Narrator says each phase's verdict.
	Narrator *Narrator
	// Timeout bounds each phase.
	Timeout time.Duration
	// Load, once it runs, must see only a phase's version for the phase to
	// converge; its requests are counted per phase.
	Load *Load
	// BeforeVerdict, when set, runs before a phase's verdict is said, so
	// that the story reads in order (the demo prints the journal up to now).
	BeforeVerdict func()
	// Phases are the phases watched so far, with their results.
	Phases []Phase
}

// Promoted waits until the reconciler serves commit with the given version:
// the status shows the commit applied and converged, the traffic adapter
// routes 100% to the set running it, and the load (once it runs) gets only
// that version. It reports whether the phase converged.
func (s *Story) Promoted(ctx context.Context, name, commit, version string) bool {
	return s.watch(ctx, Phase{Name: name, Commit: commit, Version: version, Expect: "promoted"})
}

// RolledBack waits until the rollout of commit's release failed and all the
// traffic is back on the set serving version (the release before it). It
// reports whether that happened: for a bad release, this is converging.
func (s *Story) RolledBack(ctx context.Context, name, commit, version string) bool {
	return s.watch(ctx, Phase{Name: name, Commit: commit, Version: version, Expect: "rolled back"})
}

func (s *Story) watch(ctx context.Context, p Phase) bool {
	start := time.Now()
	var before [2]int
	if s.Load != nil {
		before[0], before[1], _ = s.Load.Stats()
	}
	defer func() {
		p.Seconds = time.Since(start).Seconds()
		if s.Load != nil {
			total, failed, _ := s.Load.Stats()
			p.Requests, p.FailedRequests = total-before[0], failed-before[1]
		}
		s.Phases = append(s.Phases, p)
		if s.BeforeVerdict != nil {
			s.BeforeVerdict()
		}
		switch {
		case !p.Converged:
			s.Narrator.Say("  ✗ %s did not converge: %s", p.Name, p.Error)
		case p.Expect == "rolled back":
			s.Narrator.Say("  ✓ %s: caught %.3fs after its canary step started and rolled back; the router serves %s again; %d of %d requests failed in the phase (%.2f%%)",
				p.Name, p.DetectionSeconds, p.Version, p.FailedRequests, p.Requests, 100*p.FailedShare())
		default:
			s.Narrator.Say("  ✓ %s converged in %.2fs: the router serves %s", p.Name, p.Seconds, p.Version)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	var convergedAt time.Time
	for {
		st, err := s.API.Status(ctx)
		switch {
		case err != nil:
			p.Error = err.Error()
		case st.Head != nil && st.Head.Commit == p.Commit && len(st.Head.Errors) > 0:
			p.Error = fmt.Sprintf("revision rejected: %v", st.Head.Errors)
			return false
		case p.Expect == "promoted" && st.Ready.Reason == api.ReasonRolloutFailed && st.Applied != nil && st.Applied.Commit == p.Commit:
			p.Error = st.Ready.Message
			return false
		case !convergedAt.IsZero():
		case p.Expect == "promoted" && ServesCommit(st, p.Commit):
			convergedAt = time.Now()
		case p.Expect == "rolled back" && rolledBackFrom(st, p.Commit):
			convergedAt = time.Now()
			p.DetectionSeconds = detection(st)
		}
		if !convergedAt.IsZero() {
			if s.Load == nil || s.Load.ServingOnly(p.Version, convergedAt) {
				p.Converged = true
				return true
			}
		}
		select {
		case <-ctx.Done():
			if p.Error == "" {
				p.Error = fmt.Sprintf("not converged within %s (last status: see %s)", s.Timeout, s.API.Base+"/v1/status")
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
			if ro := pl.Rollout; ro != nil && ro.Release == svc.Release && ro.Phase == "failed" {
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
			if ro := pl.Rollout; ro != nil && ro.Release == svc.Release && ro.Phase == "failed" && !ro.StepStartedAt.IsZero() {
				return ro.UpdatedAt.Sub(ro.StepStartedAt).Seconds()
			}
		}
	}
	return 0
}

// ServesCommit reports whether commit is applied and every placement routes
// all of its traffic to the set running the commit's release.
func ServesCommit(st api.Status, commit string) bool {
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
