package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// switchTo moves all of the service's traffic to next, keeping the set that
// served until now routable at weight 0 (warm), and ends the rollout
// succeeded.
func (ro *rollout) switchTo(ctx context.Context, next journal.InfraSet, serving *journal.InfraSet) error {
	r, p := ro.r, ro.p
	rule, why := ro.switchReason(next)
	if serving != nil {
		why += fmt.Sprintf("; %s stays warm", serving.ID)
	}
	now := time.Now().UTC()
	next.State, next.ServedAt, next.UpdatedAt, next.Weight = api.SetServing, now, now, 0
	split, err := desiredSplit(p, replace(ro.sets, next, serving, now), ro.statuses)
	if err != nil {
		return err
	}
	if err := r.act(ctx, p.entry(next.ID, next.Release), action{kind: api.ActionSetSplit, rule: rule, why: why, detail: split}, func() error { return r.setSplit(ctx, p.target, ro.tr, split) }); err != nil {
		return fmt.Errorf("switch traffic to %s: %w", next.ID, err)
	}
	if serving != nil {
		s := *serving
		s.State, s.UpdatedAt = api.SetWarm, now
		if err := r.store.PutInfraSet(ctx, s); err != nil {
			return err
		}
	}
	if err := r.store.PutInfraSet(ctx, next); err != nil {
		return err
	}
	rec := &ro.record
	rec.Phase, rec.UpdatedAt = api.RolloutSucceeded, now
	if rec.Message == "" || rec.Rollback {
		rec.Message = why
	}
	return r.store.PutRollout(ctx, *rec)
}

// switchReason is the rule a switch to next cites and why it is taken: a
// healthy new set (make before break), or a warm one (rollback).
func (ro *rollout) switchReason(next journal.InfraSet) (string, string) {
	p, st := ro.p, ro.statuses[next.ID]
	if next.State != api.SetWarm {
		return policyMakeBeforeBreak, fmt.Sprintf("infra-set %s has %d/%d healthy instances: switch 100%% of traffic to it", next.ID, len(st.Endpoints()), p.service.Run.Replicas)
	}
	if p.service.Strategy.WarmMode == schema.WarmMinimal {
		return policyRollback, fmt.Sprintf("release %s is warm in %s, started again with %d/%d healthy instances: switch traffic back (rollback)",
			short(next.Release), next.ID, len(st.Endpoints()), p.service.Run.Replicas)
	}
	return policyRollback, fmt.Sprintf("release %s is still warm in %s: switch traffic back at once (rollback)", short(next.Release), next.ID)
}

// replace returns sets with next in place of its old record and the set that
// served until now marked warm.
func replace(sets []journal.InfraSet, next journal.InfraSet, serving *journal.InfraSet, now time.Time) []journal.InfraSet {
	out := make([]journal.InfraSet, 0, len(sets))
	for _, s := range sets {
		switch {
		case s.ID == next.ID:
			s = next
		case serving != nil && s.ID == serving.ID:
			s.State, s.UpdatedAt = api.SetWarm, now
		}
		out = append(out, s)
	}
	return out
}
