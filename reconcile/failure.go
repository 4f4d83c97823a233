package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
)

// gated handles a gate that did not allow: a hold waits for the next pass;
// a deny fails the rollout, which is not retried until a new revision.
func (ro *rollout) gated(ctx context.Context, set *journal.InfraSet, d policy.Decision, err error) (bool, error) {
	switch {
	case err != nil:
		return true, err
	case d.Result == policy.Hold:
		return false, errDenied
	}
	msg := fmt.Sprintf("the gate policy denied release %s (%s); traffic stays on the current set; not retried until a new revision", short(ro.record.Release), reasonsLine(d))
	return false, ro.markFailed(ctx, set, msg)
}

// failUnhealthy fails a rollout whose set did not become healthy in time,
// with what its instances and the runtime said.
func (ro *rollout) failUnhealthy(ctx context.Context, set *journal.InfraSet, st adapters.InfraSetStatus) error {
	var reasons []string
	for _, in := range st.Instances {
		if !in.Healthy {
			reasons = append(reasons, fmt.Sprintf("instance %d: %s", in.Index, in.Reason))
		}
	}
	if problem := ro.problems[set.ID]; problem != "" {
		reasons = append(reasons, problem)
	}
	if len(reasons) == 0 {
		reasons = append(reasons, fmt.Sprintf("%d of %d instances running", len(st.Instances), ro.p.service.Run.Replicas))
	}
	msg := fmt.Sprintf("release %s did not become healthy within %s (%s); traffic stays on the current set; not retried until a new revision",
		short(ro.record.Release), progressWindow(ro.p.service), strings.Join(reasons, "; "))
	return ro.markFailed(ctx, set, msg)
}

// markFailed ends the rollout as failed and its set, unless warm, as failed
// (collected later).
func (ro *rollout) markFailed(ctx context.Context, set *journal.InfraSet, msg string) error {
	r, p := ro.r, ro.p
	now := time.Now().UTC()
	rec := &ro.record
	rec.Phase, rec.Message, rec.UpdatedAt, rec.FailedIn = api.RolloutFailed, msg, now, p.attempt
	if err := r.store.PutRollout(ctx, *rec); err != nil {
		return err
	}
	if set != nil && set.State != api.SetWarm {
		set.State, set.Reason, set.UpdatedAt = api.SetFailed, msg, now
		if err := r.store.PutInfraSet(ctx, *set); err != nil {
			return err
		}
	}
	r.journal(ctx, journal.Entry{Kind: api.EntryEvent, Service: p.service.Name, Stage: p.stage, Target: p.target.Name,
		Set: rec.Set, Release: rec.Release, Rollout: rec.ID, Message: "rollout failed", Error: msg})
	r.log.Warn("rollout failed", "service", p.service.Name, "target", p.target.Name, "release", short(rec.Release), "reason", msg)
	r.revertFailed(ctx, *rec, msg)
	return nil
}
