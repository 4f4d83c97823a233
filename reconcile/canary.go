package reconcile

import (
	"context"
	"errors"
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
func (ro *rollout) canary(ctx context.Context, set, serving journal.InfraSet) (bool, error) {
	steps := ro.p.service.Strategy.Steps
	if ro.record.Step == 0 || set.State != api.SetCanary {
		// A restart may find the rollout's step recorded and the set not:
		// the step is taken again from its start.
		return true, ro.step(ctx, set, serving, min(max(ro.record.Step-1, 0), len(steps)-1), readyFacts(&set))
	}
	i := min(ro.record.Step-1, len(steps)-1) // steps may have shrunk in a newer revision
	step := steps[i]
	an, served, err := ro.judge(ctx, i, set, serving)
	if err != nil {
		ro.noteAnalysis(ctx, "no metrics to judge the step: "+err.Error())
		return true, nil
	}
	ro.record.Signals = apiSignals(an.Signals)
	elapsed := time.Since(ro.record.StepStartedAt)
	facts := stepFacts{bake: policy.Bake{ElapsedSeconds: elapsed.Seconds(), Requests: served.canary.Requests, ServerErrors: served.canary.ServerErrors}, analysis: an}
	summary := analysis.Describe(an, served.canary, served.baseline)
	where := fmt.Sprintf("canary step %d/%d (%d%%)", i+1, len(steps), step.Weight)

	if an.Verdict == analysis.Fail {
		return false, ro.abort(ctx, set, serving,
			fmt.Sprintf("%s failed its analysis after %s: %s", where, elapsed.Round(time.Millisecond), summary))
	}
	baked := elapsed >= step.Bake.Time.Duration && served.canary.Requests >= step.Bake.Requests
	if !baked || an.Verdict != analysis.Pass {
		live := ro.r.reach.live(ro.p.target.Name, ro.record.StepStartedAt, time.Now())
		if limit := step.Bake.Time.Duration + ro.p.service.Strategy.ProgressDeadline.Duration; live > limit {
			return false, ro.abort(ctx, set, serving,
				fmt.Sprintf("%s got too little traffic to be judged within its bake time and the progress deadline (%s): %s; not enough data is never a pass",
					where, limit, summary))
		}
		state := "baking"
		if elapsed >= step.Bake.Time.Duration {
			state = "not enough data: holding"
		}
		ro.noteAnalysis(ctx, fmt.Sprintf("%s %s (%s of %s, %d of %d requests): %s", where, state,
			elapsed.Round(time.Second), step.Bake.Time.Duration, served.canary.Requests, step.Bake.Requests, summary))
		return true, nil
	}

	if i+1 < len(steps) {
		return true, ro.step(ctx, set, serving, i+1, facts)
	}
	d, err := ro.gate(ctx, policy.GateStep{Kind: policy.StepPromote, Index: len(steps), Count: len(steps) + 1, Weight: 100}, facts)
	if done, err := ro.canaryGated(ctx, set, serving, d, err); done {
		return false, err
	}
	ro.record.Message = fmt.Sprintf("canary passed %d step(s), the last %s", len(steps), summary)
	return false, ro.switchTo(ctx, set, &serving)
}

// stepTraffic is what the canary and the baseline served since the step
// started.
type stepTraffic struct {
	canary, baseline journal.Counters
}

// judge analyses step i of the canary on what it served since the step
// started: its own error rates and latency against the baseline's, the
// related services' error rates, and the strategy's Prometheus queries.
// An error means there are no metrics to judge from.
func (ro *rollout) judge(ctx context.Context, i int, set, serving journal.InfraSet) (policy.Analysis, stepTraffic, error) {
	// A newer revision ends the judgement's reads: a hung health source or
	// Prometheus must not hold a revert behind this canary.
	ctx, cancel := ro.r.untilNewer(ctx)
	defer cancel()
	var served stepTraffic
	var err error
	served.canary, served.baseline, err = ro.stepCounters(ctx, set.ID, serving.ID)
	if err != nil {
		return policy.Analysis{}, served, err
	}
	judge := ro.p.service.Strategy.StepAnalysis(i)
	an := analysis.Analyse(*judge, served.canary, served.baseline)
	for _, sig := range ro.r.relatedSignals(ctx, ro.p, ro.record) {
		// A related service's trouble fails the step; too little of its
		// traffic does not hold it: the canary is judged on its own.
		an.Signals = append(an.Signals, sig)
		if sig.Verdict == analysis.Fail {
			an.Verdict = analysis.Fail
		}
	}
	if pa := judge.Prometheus; pa != nil {
		signals, verdict, failed := promSignals(ctx, pa, ro.p, set, serving)
		ro.r.noteTry(ctx, "prometheus "+pa.Address, failed)
		an.Signals = append(an.Signals, signals...)
		switch {
		case verdict == analysis.Fail:
			an.Verdict = analysis.Fail
		case verdict == analysis.Inconclusive && an.Verdict == analysis.Pass:
			an.Verdict = analysis.Inconclusive
		}
	}
	return an, served, nil
}

// step asks the gate and, if it allows, gives the canary step i's weight.
// The set and rollout records are written after the intent and before the
// split, so that a restart applies the step the journal says.
func (ro *rollout) step(ctx context.Context, set, serving journal.InfraSet, i int, facts stepFacts) error {
	r, p := ro.r, ro.p
	steps := p.service.Strategy.Steps
	w := steps[i].Weight
	d, err := ro.gate(ctx, policy.GateStep{Kind: policy.StepPromote, Index: i, Count: len(steps) + 1, Weight: w}, facts)
	if done, err := ro.canaryGated(ctx, set, serving, d, err); done {
		return err
	}
	base, err := ro.stepBase(ctx, set, serving)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	next := set
	next.State, next.Weight, next.UpdatedAt = api.SetCanary, w, now
	split, err := desiredSplit(p, withSet(ro.sets, next), ro.statuses)
	if err != nil {
		return err
	}
	why := fmt.Sprintf("canary step %d/%d: %s takes %d%% of the traffic, %s keeps %d%%; it bakes %s and %d requests",
		i+1, len(steps), set.ID, w, serving.ID, 100-w, steps[i].Bake.Time.Duration, steps[i].Bake.Requests)
	return r.act(ctx, p.entry(set.ID, set.Release), action{kind: api.ActionSetSplit, rule: policyCanary, why: why, detail: split}, func() error {
		if err := r.store.PutInfraSet(ctx, next); err != nil {
			return err
		}
		rec := &ro.record
		rec.Phase, rec.Step, rec.StepStartedAt, rec.StepBase, rec.Message, rec.Analysis, rec.UpdatedAt = api.RolloutCanary, i+1, now, base, why, "", now
		if err := r.store.PutRollout(ctx, *rec); err != nil {
			return err
		}
		return ro.r.setSplit(ctx, ro.p.target, ro.tr, split)
	})
}

// stepBase reads the counters a step counts from: the canary's, the
// baseline's and the related services' serving sets'. A set the traffic
// adapter has never counted (adapters.ErrNotFound) has none: it counts from
// zero. Any other error stops the step from starting (asked again next
// pass): an infra-set id is made again for the same release and target, and
// its counters on the adapter go on from its last life, so counting from
// zero would judge the step on that life's traffic too.
func (ro *rollout) stepBase(ctx context.Context, set, serving journal.InfraSet) (map[string]journal.Counters, error) {
	r, p := ro.r, ro.p
	base := map[string]journal.Counters{}
	hs, ok := r.healthSource(p)
	if !ok {
		return base, nil
	}
	read := func(service, id string) error {
		m, err := r.setMetrics(ctx, hs, service, id)
		switch {
		case errors.Is(err, adapters.ErrNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("counters of %s, which the step starts from: %w", id, err)
		}
		base[id] = analysis.CountersOf(m)
		return nil
	}
	for _, id := range []string{set.ID, serving.ID} {
		if err := read(p.service.Name, id); err != nil {
			return nil, err
		}
	}
	rel, _, err := r.relatedSets(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, s := range rel {
		if err := read(s.Service, s.ID); err != nil {
			return nil, err
		}
	}
	return base, nil
}

// canaryGated acts on a gate that did not allow a canary step: a hold
// waits; a deny rolls the canary back. It reports whether the caller stops.
func (ro *rollout) canaryGated(ctx context.Context, set, serving journal.InfraSet, d policy.Decision, err error) (bool, error) {
	switch {
	case err != nil:
		return true, err
	case d.Result == policy.Allow:
		return false, nil
	case d.Result == policy.Hold:
		return true, errDenied
	}
	return true, ro.abort(ctx, set, serving, "the gate policy denied the next step: "+reasonsLine(d))
}

// abort takes the canary out of the traffic at once, in one atomic split,
// and fails the rollout: the set is drained and removed later, and the
// release is not retried until a new revision.
func (ro *rollout) abort(ctx context.Context, set, serving journal.InfraSet, reason string) error {
	r, p := ro.r, ro.p
	msg := fmt.Sprintf("release %s rolled back: %s; traffic is back on %s; not retried until a new revision", short(ro.record.Release), reason, serving.ID)
	failed := set
	failed.State, failed.Weight, failed.Reason, failed.UpdatedAt = api.SetFailed, 0, msg, time.Now().UTC()
	split, err := desiredSplit(p, withSet(ro.sets, failed), ro.statuses)
	if err != nil {
		return err
	}
	recorded := false
	err = r.act(ctx, p.entry(set.ID, set.Release), action{kind: api.ActionSetSplit, rule: policyAnalysis, why: msg, detail: split}, func() error {
		if err := r.store.PutInfraSet(ctx, failed); err != nil {
			return err
		}
		recorded = true
		return ro.r.setSplit(ctx, ro.p.target, ro.tr, split)
	})
	if !recorded {
		return err
	}
	// Once the set is recorded failed the rollout is too, even when the
	// split back failed (the next pass converges the split on the journal):
	// else the failed set is collected and the rollout, still at its step,
	// made the release again and gave it traffic.
	ro.record.Analysis = reason
	if ferr := ro.markFailed(ctx, &failed, msg); ferr != nil {
		return ferr
	}
	return err
}

// stepCounters are what the canary and the baseline served since the step
// started, from the traffic adapter's cumulative per-set counters.
func (ro *rollout) stepCounters(ctx context.Context, canary, baseline string) (journal.Counters, journal.Counters, error) {
	r, p := ro.r, ro.p
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
		out[i] = analysis.Since(analysis.CountersOf(m), ro.record.StepBase[id])
	}
	return out[0], out[1], nil
}

// noteAnalysis records a step's progress on the rollout, at most once a
// second, for status to show.
func (ro *rollout) noteAnalysis(ctx context.Context, summary string) {
	rec := &ro.record
	if rec.Analysis == summary || time.Since(rec.UpdatedAt) < time.Second {
		return
	}
	rec.Analysis, rec.UpdatedAt = summary, time.Now().UTC()
	if err := ro.r.store.PutRollout(ctx, *rec); err != nil {
		ro.r.log.Error("journal rollout", "err", err)
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
