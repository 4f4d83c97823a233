package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/durable-delivery/durable/adapters"
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
func (r *Reconciler) upgradeDowngrade(ctx context.Context, p placement, rt adapters.Runtime, tr adapters.Traffic, sets []journal.InfraSet,
	set, serving journal.InfraSet, statuses map[string]adapters.InfraSetStatus, ro *journal.Rollout) (bool, error) {
	now := time.Now().UTC()
	switch ro.Check {
	case "":
		return true, r.startProbe(ctx, p, rt, serving, ro, checkDowngrade,
			fmt.Sprintf("upgrade-downgrade test: %s is healthy; start %s's release %s again beside it (old after new)", set.ID, serving.ID, short(serving.Release)))
	case checkDowngrade, checkUpgrade:
		of := serving
		if ro.Check == checkUpgrade {
			of = set
		}
		probe := find(sets, func(s journal.InfraSet) bool { return s.ID == probeID(of.ID) })
		if probe == nil {
			return true, r.startProbe(ctx, p, rt, of, ro, ro.Check, "upgrade-downgrade test: start the "+ro.Check+" probe again")
		}
		st := statuses[probe.ID]
		svc, err := r.serviceOf(ctx, probe.Release)
		if err != nil {
			return true, err
		}
		if !st.Healthy(svc.Run.Replicas) {
			if !progressDeadlinePassed(p.service, ro.CheckStartedAt, now) {
				return true, nil
			}
			what := fmt.Sprintf("the release it replaces (%s) does not run again once it ran: it cannot be rolled back", short(serving.Release))
			if ro.Check == checkUpgrade {
				what = "it does not run again after the release it replaces ran once more"
			}
			msg := fmt.Sprintf("upgrade-downgrade test failed in stage %s: %s (%s not healthy within %s); no traffic moved",
				p.stage, what, probe.ID, progressWindow(p.service))
			if err := r.removeSet(ctx, p, rt, tr, *probe, policyUpDown, msg); err != nil {
				return true, err
			}
			return true, r.markFailed(ctx, p, *ro, &set, fmt.Sprintf("release %s: %s; not retried until a new revision", short(ro.Release), msg))
		}
		if err := r.removeSet(ctx, p, rt, tr, *probe, policyUpDown,
			fmt.Sprintf("upgrade-downgrade test: %s's release %s runs again (%s part passed)", of.ID, short(of.Release), ro.Check)); err != nil {
			return true, err
		}
		if ro.Check == checkDowngrade {
			return true, r.startProbe(ctx, p, rt, set, ro, checkUpgrade,
				fmt.Sprintf("upgrade-downgrade test: start release %s again after the old one ran (new after old)", short(set.Release)))
		}
		ro.Check, ro.CheckStartedAt, ro.UpdatedAt = checkDone, now, now
		ro.Message = "upgrade-downgrade test passed: new → old → new all healthy"
		return false, r.store.PutRollout(ctx, *ro)
	}
	return false, nil
}

// startProbe records the next part of the test and starts a probe set of
// of's release; the record comes first, so that a restart finds the probe.
func (r *Reconciler) startProbe(ctx context.Context, p placement, rt adapters.Runtime, of journal.InfraSet, ro *journal.Rollout, part, why string) error {
	svc, err := r.serviceOf(ctx, of.Release)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	probe := journal.InfraSet{ID: probeID(of.ID), Service: of.Service, Stage: of.Stage, Target: of.Target, Release: of.Release,
		State: api.SetProbe, Reason: "upgrade-downgrade test", CreatedAt: now, UpdatedAt: now}
	ro.Check, ro.CheckStartedAt, ro.Message, ro.UpdatedAt = part, now, why, now
	if err := r.store.PutRollout(ctx, *ro); err != nil {
		return err
	}
	return r.act(ctx, p.entry(probe.ID, probe.Release), "create-set", policyUpDown, why, nil, func() error {
		if err := r.store.PutInfraSet(ctx, probe); err != nil {
			return err
		}
		spec, err := r.withSecretValues(specFor(probe, svc), svc)
		if err != nil {
			return err
		}
		_, err = rt.Ensure(ctx, spec)
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
