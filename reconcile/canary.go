package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/reconcile/analysis"
)

// Built-in rules of a canary, cited by the decisions they make.
const (
	policyCanary   = "builtin/canary"
	policyAnalysis = "builtin/analysis"
)

// canary drives a healthy new set through the strategy's steps beside the
// serving set: each step's weight, baked (time and requests) and analysed on
// its own traffic, then promoted by the gate; a failed analysis or a step
// that never gets enough data rolls the traffic back at once.
func (r *Reconciler) canary(ctx context.Context, p placement, tr adapters.Traffic, sets []journal.InfraSet,
	set, serving journal.InfraSet, statuses map[string]adapters.InfraSetStatus, ro journal.Rollout, pol policies) (bool, error) {
	steps := p.service.Strategy.Steps
	if ro.Step == 0 || set.State != api.SetCanary {
		// A restart may find the rollout's step recorded and the set not:
		// the step is taken again from its start.
		return true, r.canaryStep(ctx, p, tr, sets, set, serving, statuses, ro, pol, min(max(ro.Step-1, 0), len(steps)-1), readyFacts(&set))
	}
	i := min(ro.Step-1, len(steps)-1) // steps may have shrunk in a newer revision
	step := steps[i]
	canary, baseline, err := r.stepCounters(ctx, p, ro, set.ID, serving.ID)
	if err != nil {
		r.noteAnalysis(ctx, &ro, "no metrics to judge the step: "+err.Error())
		return true, nil
	}
	judge := p.service.Strategy.StepAnalysis(i)
	an := analysis.Analyse(*judge, canary, baseline)
	for _, sig := range r.relatedSignals(ctx, p, ro) {
		// A related service's trouble fails the step; too little of its
		// traffic does not hold it: the canary is judged on its own.
		an.Signals = append(an.Signals, sig)
		if sig.Verdict == analysis.Fail {
			an.Verdict = analysis.Fail
		}
	}
	if pa := judge.Prometheus; pa != nil {
		signals, verdict := promSignals(ctx, pa, p, set, serving)
		an.Signals = append(an.Signals, signals...)
		switch {
		case verdict == analysis.Fail:
			an.Verdict = analysis.Fail
		case verdict == analysis.Inconclusive && an.Verdict == analysis.Pass:
			an.Verdict = analysis.Inconclusive
		}
	}
	elapsed := time.Since(ro.StepStartedAt)
	facts := stepFacts{bake: policy.Bake{ElapsedSeconds: elapsed.Seconds(), Requests: canary.Requests, ServerErrors: canary.ServerErrors}, analysis: an}
	summary := analysis.Describe(an, canary, baseline)
	where := fmt.Sprintf("canary step %d/%d (%d%%)", i+1, len(steps), step.Weight)

	if an.Verdict == analysis.Fail {
		return false, r.abortCanary(ctx, p, tr, sets, set, serving, statuses, ro,
			fmt.Sprintf("%s failed its analysis after %s: %s", where, elapsed.Round(time.Millisecond), summary))
	}
	baked := elapsed >= step.Bake.Time.Duration && canary.Requests >= step.Bake.Requests
	if !baked || an.Verdict != analysis.Pass {
		if elapsed > step.Bake.Time.Duration+p.service.Strategy.ProgressDeadline.Duration {
			return false, r.abortCanary(ctx, p, tr, sets, set, serving, statuses, ro,
				fmt.Sprintf("%s got too little traffic to be judged within its bake time and the progress deadline (%s): %s; not enough data is never a pass",
					where, step.Bake.Time.Duration+p.service.Strategy.ProgressDeadline.Duration, summary))
		}
		state := "baking"
		if elapsed >= step.Bake.Time.Duration {
			state = "not enough data: holding"
		}
		r.noteAnalysis(ctx, &ro, fmt.Sprintf("%s %s (%s of %s, %d of %d requests): %s", where, state,
			elapsed.Round(time.Second), step.Bake.Time.Duration, canary.Requests, step.Bake.Requests, summary))
		return true, nil
	}

	if i+1 < len(steps) {
		return true, r.canaryStep(ctx, p, tr, sets, set, serving, statuses, ro, pol, i+1, facts)
	}
	d, err := r.gate(ctx, pol, p, &ro, policy.GateStep{Kind: policy.StepPromote, Index: len(steps), Count: len(steps) + 1, Weight: 100}, facts)
	if done, err := r.canaryGated(ctx, p, tr, sets, set, serving, statuses, ro, d, err); done {
		return false, err
	}
	ro.Message = fmt.Sprintf("canary passed %d step(s), the last %s", len(steps), summary)
	return false, r.switchTo(ctx, p, tr, sets, set, &serving, statuses, ro)
}

// canaryStep asks the gate and, if it allows, gives the canary step i's
// weight. The set and rollout records are written after the intent and
// before the split, so that a restart applies the step the journal says.
func (r *Reconciler) canaryStep(ctx context.Context, p placement, tr adapters.Traffic, sets []journal.InfraSet,
	set, serving journal.InfraSet, statuses map[string]adapters.InfraSetStatus, ro journal.Rollout, pol policies, i int, facts stepFacts) error {
	steps := p.service.Strategy.Steps
	w := steps[i].Weight
	d, err := r.gate(ctx, pol, p, &ro, policy.GateStep{Kind: policy.StepPromote, Index: i, Count: len(steps) + 1, Weight: w}, facts)
	if done, err := r.canaryGated(ctx, p, tr, sets, set, serving, statuses, ro, d, err); done {
		return err
	}
	base := map[string]journal.Counters{}
	if hs, ok := r.healthSource(p); ok {
		for _, id := range []string{set.ID, serving.ID} {
			if m, err := r.setMetrics(ctx, hs, p.service.Name, id); err == nil {
				base[id] = analysis.CountersOf(m)
			}
		}
		rel, _, err := r.relatedSets(ctx, p)
		if err != nil {
			return err
		}
		for _, s := range rel {
			if m, err := r.setMetrics(ctx, hs, s.Service, s.ID); err == nil {
				base[s.ID] = analysis.CountersOf(m)
			}
		}
	}
	now := time.Now().UTC()
	next := set
	next.State, next.Weight, next.UpdatedAt = api.SetCanary, w, now
	split, err := desiredSplit(p, withSet(sets, next), statuses)
	if err != nil {
		return err
	}
	why := fmt.Sprintf("canary step %d/%d: %s takes %d%% of the traffic, %s keeps %d%%; it bakes %s and %d requests",
		i+1, len(steps), set.ID, w, serving.ID, 100-w, steps[i].Bake.Time.Duration, steps[i].Bake.Requests)
	return r.act(ctx, p.entry(set.ID, set.Release), "set-split", policyCanary, why, split, func() error {
		if err := r.store.PutInfraSet(ctx, next); err != nil {
			return err
		}
		ro.Phase, ro.Step, ro.StepStartedAt, ro.StepBase, ro.Message, ro.Analysis, ro.UpdatedAt = api.RolloutCanary, i+1, now, base, why, "", now
		if err := r.store.PutRollout(ctx, ro); err != nil {
			return err
		}
		return tr.SetSplit(ctx, split)
	})
}

// canaryGated acts on a gate that did not allow a canary step: a hold
// waits; a deny rolls the canary back. It reports whether the caller stops.
func (r *Reconciler) canaryGated(ctx context.Context, p placement, tr adapters.Traffic, sets []journal.InfraSet,
	set, serving journal.InfraSet, statuses map[string]adapters.InfraSetStatus, ro journal.Rollout, d policy.Decision, err error) (bool, error) {
	switch {
	case err != nil:
		return true, err
	case d.Result == policy.Allow:
		return false, nil
	case d.Result == policy.Hold:
		return true, errDenied
	}
	return true, r.abortCanary(ctx, p, tr, sets, set, serving, statuses, ro, "the gate policy denied the next step: "+reasonsLine(d))
}

// abortCanary takes the canary out of the traffic at once, in one atomic
// split, and fails the rollout: the set is drained and removed later, and
// the release is not retried until a new revision.
func (r *Reconciler) abortCanary(ctx context.Context, p placement, tr adapters.Traffic, sets []journal.InfraSet,
	set, serving journal.InfraSet, statuses map[string]adapters.InfraSetStatus, ro journal.Rollout, reason string) error {
	msg := fmt.Sprintf("release %s rolled back: %s; traffic is back on %s; not retried until a new revision", short(ro.Release), reason, serving.ID)
	failed := set
	failed.State, failed.Weight, failed.Reason, failed.UpdatedAt = api.SetFailed, 0, msg, time.Now().UTC()
	split, err := desiredSplit(p, withSet(sets, failed), statuses)
	if err != nil {
		return err
	}
	if err := r.act(ctx, p.entry(set.ID, set.Release), "set-split", policyAnalysis, msg, split, func() error {
		if err := r.store.PutInfraSet(ctx, failed); err != nil {
			return err
		}
		return tr.SetSplit(ctx, split)
	}); err != nil {
		return err
	}
	ro.Analysis = reason
	return r.markFailed(ctx, p, ro, &failed, msg)
}

// stepCounters are what the canary and the baseline served since the step
// started, from the traffic adapter's cumulative per-set counters.
func (r *Reconciler) stepCounters(ctx context.Context, p placement, ro journal.Rollout, canary, baseline string) (journal.Counters, journal.Counters, error) {
	hs, ok := r.healthSource(p)
	if !ok {
		return journal.Counters{}, journal.Counters{}, fmt.Errorf("traffic adapter %q reports no per-set metrics", p.target.Traffic.Kind)
	}
	var out [2]journal.Counters
	for i, id := range []string{canary, baseline} {
		m, err := r.setMetrics(ctx, hs, p.service.Name, id)
		if err != nil {
			return out[0], out[1], err
		}
		out[i] = analysis.Since(analysis.CountersOf(m), ro.StepBase[id])
	}
	return out[0], out[1], nil
}

// noteAnalysis records a step's progress on the rollout, at most once a
// second, for status to show.
func (r *Reconciler) noteAnalysis(ctx context.Context, ro *journal.Rollout, summary string) {
	if ro.Analysis == summary || time.Since(ro.UpdatedAt) < time.Second {
		return
	}
	ro.Analysis, ro.UpdatedAt = summary, time.Now().UTC()
	if err := r.store.PutRollout(ctx, *ro); err != nil {
		r.log.Error("journal rollout", "err", err)
	}
}

// withSet returns sets with next in place of the record of the same id.
func withSet(sets []journal.InfraSet, next journal.InfraSet) []journal.InfraSet {
	out := make([]journal.InfraSet, len(sets))
	for i, s := range sets {
		if s.ID == next.ID {
			s = next
		}
		out[i] = s
	}
	return out
}
