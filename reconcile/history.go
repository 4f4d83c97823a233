package reconcile

import (
	"context"
	"errors"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// HistoryQuery narrows a history to a service and a stage ("" for all).
type HistoryQuery struct {
	Service, Stage string
	// Now is when in-flight rollouts and serving releases are measured to.
	Now time.Time
}

// ReadHistory reads from the journal the releases each stage ran: every
// rollout, oldest first, with the commit that asked for it, its outcome
// and how long it ran and served. It only reads.
func ReadHistory(ctx context.Context, st journal.Store, q HistoryQuery) (api.History, error) {
	h := api.History{Releases: []api.HistoryRelease{}}
	var rollouts []journal.Rollout
	var err error
	if q.Service != "" {
		rollouts, err = st.ServiceRollouts(ctx, q.Service)
	} else {
		rollouts, err = st.Rollouts(ctx)
	}
	if err != nil {
		return h, err
	}
	messages := map[string]string{}
	for _, ro := range rollouts {
		if q.Stage != "" && ro.Stage != q.Stage {
			continue
		}
		if _, ok := messages[ro.Revision]; !ok {
			rev, err := st.Revision(ctx, ro.Revision)
			if err != nil && !errors.Is(err, journal.ErrNotFound) {
				return h, err
			}
			messages[ro.Revision] = rev.Message
		}
		h.Releases = append(h.Releases, historyRelease(ro, messages[ro.Revision], q.Now))
	}
	servedUntil(h.Releases, q.Now)
	return h, nil
}

// historyRelease is one rollout as history shows it.
func historyRelease(ro journal.Rollout, message string, now time.Time) api.HistoryRelease {
	hr := api.HistoryRelease{Service: ro.Service, Stage: ro.Stage, Target: ro.Target, Release: ro.Release,
		FromRelease: ro.FromRelease, Rollback: ro.Rollback, Commit: ro.Revision, Message: message,
		Reason: ro.Message, StartedAt: ro.StartedAt}
	switch ro.Phase {
	case api.RolloutSucceeded:
		hr.Outcome = api.OutcomeSucceeded
	case api.RolloutFailed:
		hr.Outcome = api.OutcomeFailed
	case api.RolloutAbandoned:
		hr.Outcome = api.OutcomeAbandoned
	default:
		hr.Outcome = api.OutcomeInFlight
	}
	end := now
	if ro.Done() {
		hr.EndedAt, end = ro.UpdatedAt, ro.UpdatedAt
	}
	hr.Took = api.Duration{Duration: end.Sub(ro.StartedAt).Round(time.Second)}
	return hr
}

// servedUntil sets how long each succeeded release served on its
// placement: until the next succeeded rollout there ended, else until now.
// A release that a rollback replaced was rolled back.
func servedUntil(rs []api.HistoryRelease, now time.Time) {
	type place struct{ service, stage, target string }
	next := map[place]*api.HistoryRelease{}
	for i := len(rs) - 1; i >= 0; i-- {
		r := &rs[i]
		if r.Outcome != api.OutcomeSucceeded {
			continue
		}
		p := place{r.Service, r.Stage, r.Target}
		until := now
		if n := next[p]; n != nil {
			until = n.EndedAt
			if n.Rollback && n.FromRelease == r.Release {
				r.Outcome = api.OutcomeRolledBack
			}
		}
		r.Served = api.Duration{Duration: until.Sub(r.EndedAt).Round(time.Second)}
		next[p] = r
	}
}
