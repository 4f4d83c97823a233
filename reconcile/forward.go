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
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/signing"
)

// forward drives the rollout of the desired release: create its infra-set,
// wait until every instance is healthy, then switch the traffic (at once,
// or through the canary's steps). A release that is still warm is switched
// to at once: that is a rollback.
func (ro *rollout) forward(ctx context.Context) (bool, error) {
	r, p := ro.r, ro.p
	id := infraSetID(p.service.Name, p.target.Name, p.service.ReleaseID())
	set := find(ro.sets, func(s journal.InfraSet) bool { return s.ID == id })
	serving := find(ro.sets, isServing)

	proceed, err := ro.start(ctx, serving, set)
	if err != nil || !proceed {
		return false, err
	}
	r.mu.Lock()
	ro.pol = r.policies
	r.mu.Unlock()

	switch {
	case set == nil || set.State == api.SetRemoved:
		return ro.create(ctx, id, set)
	case set.State == api.SetFailed || set.State == api.SetRemoving:
		// Being removed by collect; made anew on a later pass.
		return true, nil
	}

	st := ro.statuses[id]
	if !st.Healthy(p.service.Run.Replicas) {
		return ro.unhealthy(ctx, set, serving, st)
	}
	if set.State == api.SetCreating {
		if err := ro.ready(ctx, set, st); err != nil {
			return true, err
		}
	}
	rollback := ro.record.Rollback
	if serving != nil && !rollback && ro.record.Check != checkDone && r.upDownStage(p) {
		if stop, err := ro.upgradeDowngrade(ctx, *set, *serving); err != nil || stop {
			return true, err
		}
	}
	if p.service.Strategy.Kind == schema.Canary && serving != nil && !rollback {
		return ro.canary(ctx, *set, *serving)
	}
	if p.service.Strategy.Preview && serving != nil && !rollback {
		if err := ro.ensurePreview(ctx, *set, st); err != nil {
			return true, err
		}
	}
	if d, err := ro.gate(ctx, policy.GateStep{Kind: policy.StepPromote, Count: 1, Weight: 100}, readyFacts(set)); err != nil || d.Result != policy.Allow {
		return ro.gated(ctx, set, d, err)
	}
	return false, ro.switchTo(ctx, *set, serving)
}

// create makes the infra-set id of the desired release, once its zone and
// its upstreams let it, the gate lets it enter the stage and its artifact
// is still trusted. The traffic stays where it is until it is healthy.
func (ro *rollout) create(ctx context.Context, id string, set *journal.InfraSet) (bool, error) {
	r, p := ro.r, ro.p
	if err := ro.waitTurn(ctx); err != nil {
		return false, err
	}
	if d, err := ro.gate(ctx, policy.GateStep{Kind: policy.StepEnter, Count: 1}, readyFacts(nil)); err != nil || d.Result != policy.Allow {
		return ro.gated(ctx, set, d, err)
	}
	if _, v := r.trust(); v != nil {
		// Verified again right before it runs: a key removed from the
		// trust since the revision was accepted is refused now.
		if _, err := r.verifyArtifact(ctx, p.service.Name, p.service.Artifact); errors.Is(err, signing.ErrUnreachable) {
			r.log.Warn("verify artifact; retried", "err", err)
			return true, nil
		} else if err != nil {
			return false, ro.markFailed(ctx, set, err.Error()+"; it is not run and the traffic stays where it is")
		}
	}
	want, now := p.service.ReleaseID(), time.Now().UTC()
	fresh := journal.InfraSet{ID: id, Service: p.service.Name, Stage: p.stage, Target: p.target.Name,
		Release: want, State: api.SetCreating, CreatedAt: now, UpdatedAt: now}
	why := fmt.Sprintf("release %s needs a new infra-set %s; traffic stays where it is until it is healthy", short(want), id)
	err := r.act(ctx, p.entry(id, want), action{kind: api.ActionCreateSet, rule: policyMakeBeforeBreak, why: why}, func() error {
		if err := r.store.PutInfraSet(ctx, fresh); err != nil {
			return err
		}
		spec, err := r.withSecretValues(specFor(fresh, p.service), p.service)
		if err != nil {
			return err
		}
		return ro.ensure(ctx, spec)
	})
	return true, err
}

// waitTurn holds a new infra-set while other zones of the stage, or an
// upstream of the service, roll out (noted on the record, errDenied).
func (ro *rollout) waitTurn(ctx context.Context) error {
	r, p := ro.r, ro.p
	why, err := r.zoneWait(ctx, p)
	if err == nil && why == "" {
		why, err = r.dependencyWait(ctx, p)
	}
	if err != nil || why == "" {
		return err
	}
	r.noteWait(ctx, p, &ro.record, why)
	return errDenied
}

// unhealthy decides about a set that is not healthy yet: it waits, or,
// past the progress deadline, fails the rollout (or rolls the canary back).
func (ro *rollout) unhealthy(ctx context.Context, set, serving *journal.InfraSet, st adapters.InfraSetStatus) (bool, error) {
	p, rec, now := ro.p, ro.record, time.Now().UTC()
	passed := func(since time.Time) bool {
		return progressDeadlinePassed(p.service, ro.r.reach.live(p.target.Name, since, now))
	}
	if rec.Phase == api.RolloutCreating && passed(rec.StartedAt) {
		// Once a canary serves, an instance lost is replaced by the runtime;
		// the deadline is for becoming healthy in the first place.
		return false, ro.failUnhealthy(ctx, set, st)
	}
	if rec.Rollback && set.State == api.SetWarm && passed(rec.StartedAt) {
		// A warm set started again for the rollback (warmMode minimal)
		// that does not become healthy: the traffic stays, the set
		// stays warm (and goes back to one instance).
		return false, ro.failUnhealthy(ctx, set, st)
	}
	if rec.Phase == api.RolloutCanary && serving != nil && passed(rec.StepStartedAt) {
		// The canary's health checks kept failing through a deadline:
		// the HTTP checks are part of the verdict too.
		return false, ro.abort(ctx, *set, *serving,
			fmt.Sprintf("its health checks fail (%d of %d instances healthy) since the step started over %s ago", len(st.Endpoints()), p.service.Run.Replicas, progressWindow(p.service)))
	}
	return true, nil
}

// ready records a new set healthy.
func (ro *rollout) ready(ctx context.Context, set *journal.InfraSet, st adapters.InfraSetStatus) error {
	r, p := ro.r, ro.p
	set.State, set.UpdatedAt = api.SetReady, time.Now().UTC()
	if err := r.store.PutInfraSet(ctx, *set); err != nil {
		return err
	}
	r.journal(ctx, journal.Entry{Kind: api.EntryEvent, Service: p.service.Name, Stage: p.stage, Target: p.target.Name,
		Set: set.ID, Release: set.Release, Rollout: ro.record.ID,
		Message: fmt.Sprintf("infra-set %s healthy: %d/%d instances pass %s", set.ID, len(st.Endpoints()), p.service.Run.Replicas, p.service.Health.Path)})
	return nil
}

// progressDeadlinePassed reports whether a set started elapsed ago (the
// time its target could be reached: a hold while it could not does not
// count) had its time to become healthy: the health check's start period,
// during which its failed checks do not count, then the progress deadline.
// The runtimes do not report when an instance started, so the start is
// when the reconciler started the instances: the rollout, the canary step,
// the upgrade-downgrade probe, the rollback that starts a warm set again.
func progressDeadlinePassed(svc schema.Service, elapsed time.Duration) bool {
	return elapsed > svc.Health.StartPeriod.Duration+svc.Strategy.ProgressDeadline.Duration
}

// progressWindow says how long a set has to become healthy, for a message.
func progressWindow(svc schema.Service) string {
	pd, sp := svc.Strategy.ProgressDeadline.Duration, svc.Health.StartPeriod.Duration
	if sp <= 0 {
		return pd.String()
	}
	return fmt.Sprintf("%s (start period %s, then progress deadline %s)", sp+pd, sp, pd)
}
