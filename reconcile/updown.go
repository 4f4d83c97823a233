package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// policyUpDown is cited by the upgrade-downgrade test's actions.
const policyUpDown = "builtin/upgrade-downgrade"

// Parts of the upgrade-downgrade test, in order.
const (
	checkDowngrade = "downgrade"
	checkUpgrade   = "upgrade"
	checkDone      = "done"
)

func probeID(set string) string { return set + "-probe" }

// upgradeDowngrade runs, in a stage that asks for it, the test new → old →
// new before any traffic moves: the new set is healthy; the release it
// replaces is started again in a probe set beside it and must become
// healthy (it can still run once the new one ran: a rollback would work);
// then the new release again, in a probe set of its own. Probes get no
// traffic and are removed after their part. A part that does not become
// healthy within the progress deadline fails the rollout with the reason.
// It reports whether the rollout must stop here for now: the test is still
// running, or it failed.
func (ro *rollout) upgradeDowngrade(ctx context.Context, set, serving journal.InfraSet) (bool, error) {
	rec := &ro.record
	switch rec.Check {
	case "":
		return true, ro.startProbe(ctx, serving, checkDowngrade,
			fmt.Sprintf("upgrade-downgrade test: %s is healthy; start %s's release %s again beside it (old after new)", set.ID, serving.ID, short(serving.Release)))
	case checkDowngrade, checkUpgrade:
		of := serving
		if rec.Check == checkUpgrade {
			of = set
		}
		probe := find(ro.sets, func(s journal.InfraSet) bool { return s.ID == probeID(of.ID) })
		if probe == nil {
			return true, ro.startProbe(ctx, of, rec.Check, "upgrade-downgrade test: start the "+rec.Check+" probe again")
		}
		svc, err := ro.r.serviceOf(ctx, probe.Release)
		if err != nil {
			return true, err
		}
		if !ro.statuses[probe.ID].Healthy(svc.Run.Replicas) {
			return true, ro.probeUnhealthy(ctx, set, serving, *probe)
		}
		if err := ro.removeSet(ctx, *probe, policyUpDown,
			fmt.Sprintf("upgrade-downgrade test: %s's release %s runs again (%s part passed)", of.ID, short(of.Release), rec.Check)); err != nil {
			return true, err
		}
		if rec.Check == checkDowngrade {
			return true, ro.startProbe(ctx, set, checkUpgrade,
				fmt.Sprintf("upgrade-downgrade test: start release %s again after the old one ran (new after old)", short(set.Release)))
		}
		now := time.Now().UTC()
		rec.Check, rec.CheckStartedAt, rec.UpdatedAt = checkDone, now, now
		rec.Message = "upgrade-downgrade test passed: new → old → new all healthy"
		return false, ro.r.store.PutRollout(ctx, *rec)
	}
	return false, nil
}

// probeUnhealthy waits for a probe that is not healthy yet, and past the
// progress deadline removes it and fails the rollout with the reason.
func (ro *rollout) probeUnhealthy(ctx context.Context, set, serving, probe journal.InfraSet) error {
	p, rec := ro.p, &ro.record
	if !progressDeadlinePassed(p.service, ro.r.reach.live(p.target.Name, rec.CheckStartedAt, time.Now().UTC())) {
		return nil
	}
	what := fmt.Sprintf("the release it replaces (%s) does not run again once it ran: it cannot be rolled back", short(serving.Release))
	if rec.Check == checkUpgrade {
		what = "it does not run again after the release it replaces ran once more"
	}
	msg := fmt.Sprintf("upgrade-downgrade test failed in stage %s: %s (%s not healthy within %s); no traffic moved",
		p.stage, what, probe.ID, progressWindow(p.service))
	if err := ro.removeSet(ctx, probe, policyUpDown, msg); err != nil {
		return err
	}
	return ro.markFailed(ctx, &set, fmt.Sprintf("release %s: %s; not retried until a new revision", short(rec.Release), msg))
}

// startProbe records the next part of the test and starts a probe set of
// of's release; the record comes first, so that a restart finds the probe.
func (ro *rollout) startProbe(ctx context.Context, of journal.InfraSet, part, why string) error {
	r := ro.r
	svc, err := r.serviceOf(ctx, of.Release)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	probe := journal.InfraSet{ID: probeID(of.ID), Service: of.Service, Stage: of.Stage, Target: of.Target, Release: of.Release,
		State: api.SetProbe, Reason: "upgrade-downgrade test", CreatedAt: now, UpdatedAt: now}
	rec := &ro.record
	rec.Check, rec.CheckStartedAt, rec.Message, rec.UpdatedAt = part, now, why, now
	if err := r.store.PutRollout(ctx, *rec); err != nil {
		return err
	}
	return r.act(ctx, ro.p.entry(probe.ID, probe.Release), action{kind: api.ActionCreateSet, rule: policyUpDown, why: why}, func() error {
		if err := r.store.PutInfraSet(ctx, probe); err != nil {
			return err
		}
		spec, err := r.withSecretValues(specFor(probe, svc), svc)
		if err != nil {
			return err
		}
		_, err = ro.rt.Ensure(ctx, spec)
		return err
	})
}

// probing reports whether a rollout on the placement is in the middle of an
// upgrade-downgrade test, so that its probes are kept.
func (r *Reconciler) probing(ctx context.Context, p placement) bool {
	ro, ok := r.rolloutOn(ctx, p)
	return !ok || (ro != nil && (ro.Check == checkDowngrade || ro.Check == checkUpgrade))
}

// upDownStage reports whether the placement's stage asks for the test.
func (r *Reconciler) upDownStage(p placement) bool {
	st, ok := r.desiredStage(p.stage)
	return ok && st.UpgradeDowngradeTest
}
