package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/reconcile/analysis"
)

// gate asks durable.gate whether the rollout may take step, with the
// stage's gate (see stagegate.go) on entering it, journals the decision when
// it changed, and records it on the rollout. With no gate policy the
// built-in rules allow.
func (ro *rollout) gate(ctx context.Context, step policy.GateStep, facts stepFacts) (policy.Decision, error) {
	r, p, pol, rec := ro.r, ro.p, ro.pol, &ro.record
	in, err := ro.gateInput(ctx, step, facts)
	if err != nil {
		return policy.Decision{}, err
	}
	d := recordedInput(pol.engine.Decide(ctx, policy.Gate, in), in)
	d = r.stageGate(d, p, rec, step, pol.approvals)
	if p.hold && !rec.Rollback {
		// A hold commit pauses the rollout here, whatever the policies say.
		d = policy.Decision{Entry: policy.Gate, Result: policy.Hold, Policy: policyHold, InputDigest: d.InputDigest,
			Reasons: []string{fmt.Sprintf("services.%s.hold is true: the rollout waits here until a commit sets it to false", p.service.Name)}}
	}
	key := fmt.Sprintf("gate/%s/%d/%s/%d", rec.ID, rec.StartedAt.UnixNano(), step.Kind, step.Index)
	if !d.Defined() {
		return d, ro.liftHold(ctx, key)
	}
	msg := fmt.Sprintf("gate %s for release %s at %s step %d/%d (weight %d%%): %s", d.Result, short(rec.Release), step.Kind, step.Index+1, step.Count, step.Weight, strings.Join(d.Reasons, "; "))
	e, journaled := r.verdictOnce(ctx, key, decisionEntry(p.entry(rec.Set, rec.Release), d, strings.TrimSuffix(msg, ": ")))
	if !journaled {
		return d, nil
	}
	rec.Verdict = &journal.Verdict{Entry: string(d.Entry), Result: d.Result, Reasons: d.Reasons, Policy: d.Policy, At: e.Time, Seq: e.Seq}
	if d.Result == policy.Hold {
		rec.Message = "held by the gate policy: " + strings.Join(d.Reasons, "; ")
	}
	rec.UpdatedAt = time.Now().UTC()
	return d, r.store.PutRollout(ctx, *rec)
}

// liftHold forgets the rollout's hold once the gate, asked again, has no
// decision to record (no gate policy, the hold commit reverted): the
// rollout goes on, and its record must no longer show the hold as its
// latest decision. A later hold at the same step is journaled again.
func (ro *rollout) liftHold(ctx context.Context, key string) error {
	rec := &ro.record
	if rec.Verdict == nil || rec.Verdict.Result != policy.Hold {
		return nil
	}
	r := ro.r
	r.mu.Lock()
	delete(r.lastVerdict, key)
	r.mu.Unlock()
	rec.Verdict, rec.Message, rec.UpdatedAt = nil, "the hold was lifted: the rollout goes on", time.Now().UTC()
	return r.store.PutRollout(ctx, *rec)
}

// stepFacts are what a step served so far, for the gate to judge.
type stepFacts struct {
	bake     policy.Bake
	analysis policy.Analysis
}

// noAnalysis is the analysis of a step that has none (entering a stage, a
// blue/green switch).
var noAnalysis = policy.Analysis{Verdict: analysis.None, Signals: []policy.Signal{}}

// readyFacts are the facts of a set that is healthy but has not served: how
// long it has been ready, and no analysis.
func readyFacts(set *journal.InfraSet) stepFacts {
	f := stepFacts{analysis: noAnalysis}
	if set != nil && set.State != api.SetCreating {
		f.bake.ElapsedSeconds = time.Since(set.UpdatedAt).Seconds()
	}
	return f
}

// recordedInput gives a gate decision no policy made the digest of its
// input: the built-in rules decide in the policy's place, and their
// decision records the input as a policy's would, so an input that cannot
// be recorded (a NaN from a metrics source) is denied, as the engine denies
// it.
func recordedInput(d policy.Decision, in policy.GateInput) policy.Decision {
	if d.Defined() {
		return d
	}
	digest, err := policy.InputDigest(in)
	if err != nil {
		return policy.Decision{Entry: policy.Gate, Result: policy.Deny, Policy: policyRecordedInput, Reasons: []string{err.Error()}}
	}
	d.InputDigest = digest
	return d
}

// gateInput is what durable.gate is asked with: the rollout, its step and
// facts, and the state of the service's stages.
func (ro *rollout) gateInput(ctx context.Context, step policy.GateStep, facts stepFacts) (policy.GateInput, error) {
	r, p, rec := ro.r, ro.p, &ro.record
	r.mu.Lock()
	ds := r.desired
	r.mu.Unlock()
	in := policy.GateInput{APIVersion: policy.APIVersion, Entry: string(policy.Gate), Now: r.now(), Service: p.service.Name,
		Target: p.target.Name, Zone: p.target.Zone, Step: step, Strategy: p.service.Strategy,
		Release: policy.GateRelease{ID: rec.Release, Artifact: p.service.Artifact, Revision: rec.Revision, From: rec.FromRelease, Rollback: rec.Rollback},
		Bake:    facts.bake, Analysis: facts.analysis,
		Stages:    map[string]policy.StageState{},
		Approvals: approvalsFor(ro.pol.approvals, rec.Release)}
	if since := stepStart(rec); !since.IsZero() {
		now := time.Now().UTC()
		in.Unreachable.Seconds = r.reach.downtime(p.target.Name, since, now).Seconds()
	}
	for i, s := range ds.Pipeline.Stages {
		if s.Name == p.stage {
			in.Stage = policy.GateStage{Name: s.Name, Index: i, Targets: s.Targets}
		}
	}
	v, err := r.serviceView(ctx, p.service.Name)
	if err != nil {
		return in, err
	}
	for _, sv := range stageViews(ds, p.service.Name, v) {
		in.Stages[sv.Name] = policy.StageState{Serving: sv.Serving, InFlight: sv.InFlight}
	}
	return in, nil
}
