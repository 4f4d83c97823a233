package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/signing"
)

// placement is one service on one target of one stage: the unit a rollout
// converges.
type placement struct {
	service  schema.Service
	stage    string
	target   schema.Target
	revision string
	// hold is the desired state's hold of the service: its rollouts pause.
	hold bool
}

func (p placement) rolloutID(release string) string {
	return strings.Join([]string{p.service.Name, p.stage, p.target.Name, release}, "/")
}

var plainName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,30}$`)

// infraSetID names the infra-set that runs release on a target. It is derived
// from its content so that an intent journaled before a crash and the retry
// after it name the same set: a crash never makes a duplicate.
func infraSetID(service, target, release string) string {
	if !plainName.MatchString(target) {
		sum := sha256.Sum256([]byte(target))
		target = hex.EncodeToString(sum[:4])
	}
	return fmt.Sprintf("%s-%s-%s", service, release[:12], target)
}

// converge moves one placement one step towards its desired release and
// reports whether it is still in flight.
func (r *Reconciler) converge(ctx context.Context, p placement) (bool, error) {
	rt, err := r.targets.runtime(p.target)
	if err != nil {
		return false, err
	}
	tr, err := r.targets.traffic(p.target)
	if err != nil {
		return false, err
	}
	want := p.service.ReleaseID()

	sets, err := r.setsOf(ctx, p)
	if err != nil {
		return false, err
	}
	// Keep every live set running: a crashed instance is replaced here. An
	// adapter's error is kept, for a failed rollout to say why. A warm set
	// in warmMode minimal keeps as many instances as it runs: only a
	// journaled scale-set changes that (scaleWarm).
	statuses := map[string]adapters.InfraSetStatus{}
	problems := map[string]string{}
	ensured := map[string]int{}
	observed := &running{rt: rt}
	for _, s := range sets {
		if !s.State.Live() {
			continue
		}
		spec, err := r.specOf(ctx, s)
		if err != nil {
			return false, err
		}
		if spec.Replicas, err = r.warmInstances(ctx, p, observed, s, spec.Replicas); err != nil {
			return false, err
		}
		if err := r.ensureSet(ctx, rt, spec, statuses); err != nil {
			r.log.Warn("ensure infra-set", "set", s.ID, "err", err)
			problems[s.ID] = err.Error()
			continue
		}
		ensured[s.ID] = spec.Replicas
	}
	busy, err := r.scaleWarm(ctx, p, rt, tr, sets, statuses, ensured)
	switch {
	case errors.Is(err, errDenied):
		// Held by the invariant policy (journaled): asked again next pass.
	case err != nil:
		return true, err
	}

	if serving := find(sets, func(s journal.InfraSet) bool { return s.State == api.SetServing }); serving == nil || serving.Release != want {
		rolling, err := r.rollForward(ctx, p, rt, tr, sets, statuses, problems)
		switch {
		case errors.Is(err, errDenied):
			// Held by a policy (journaled): keep what runs converged.
		case err != nil:
			return true, err
		default:
			busy = busy || rolling
		}
		if sets, err = r.setsOf(ctx, p); err != nil {
			return busy, err
		}
	} else if err := r.finishRollout(ctx, p, want); err != nil {
		return false, err
	}

	if err := r.syncSplit(ctx, p, tr, sets, statuses); err != nil {
		return true, err
	}
	if p.service.Strategy.Preview && !busy {
		if err := r.dropPreview(ctx, p, tr); err != nil {
			return true, err
		}
	}
	return busy, r.collect(ctx, p, rt, tr, sets)
}

// ensureSet has the runtime run spec's set as spec says, and records what
// it then runs: in statuses, and for the invariant policy's view of the
// fleet and the scrape targets.
func (r *Reconciler) ensureSet(ctx context.Context, rt adapters.Runtime, spec adapters.InfraSetSpec, statuses map[string]adapters.InfraSetStatus) error {
	st, err := rt.Ensure(ctx, spec)
	if err != nil {
		return err
	}
	statuses[spec.ID] = st
	var eps []string
	for _, in := range st.Instances {
		eps = append(eps, in.Endpoint)
	}
	r.mu.Lock()
	r.healthy[spec.ID] = len(st.Endpoints())
	r.endpoints[spec.ID] = eps
	r.mu.Unlock()
	return nil
}

// rollForward drives the rollout of the desired release: create its
// infra-set, wait until every instance is healthy, then switch the traffic.
// A release that is still warm is switched to at once: that is a rollback.
func (r *Reconciler) rollForward(ctx context.Context, p placement, rt adapters.Runtime, tr adapters.Traffic,
	sets []journal.InfraSet, statuses map[string]adapters.InfraSetStatus, problems map[string]string) (bool, error) {
	want := p.service.ReleaseID()
	id := infraSetID(p.service.Name, p.target.Name, want)
	set := find(sets, func(s journal.InfraSet) bool { return s.ID == id })
	serving := find(sets, func(s journal.InfraSet) bool { return s.State == api.SetServing })

	ro, proceed, err := r.startRollout(ctx, p, serving, set)
	if err != nil || !proceed {
		return false, err
	}

	r.mu.Lock()
	pol := r.policies
	r.mu.Unlock()

	now := time.Now().UTC()
	switch {
	case set == nil || set.State == api.SetRemoved:
		why, err := r.zoneWait(ctx, p)
		if err == nil && why == "" {
			why, err = r.dependencyWait(ctx, p)
		}
		if err != nil || why != "" {
			if err == nil {
				r.noteWait(ctx, p, &ro, why)
				err = errDenied
			}
			return false, err
		}
		if d, err := r.gate(ctx, pol, p, &ro, policy.GateStep{Kind: policy.StepEnter, Count: 1}, readyFacts(nil)); err != nil || d.Result != policy.Allow {
			return r.gated(ctx, p, ro, set, d, err)
		}
		if _, v := r.trust(); v != nil {
			// Verified again right before it runs: a key removed from the
			// trust since the revision was accepted is refused now.
			if _, err := r.verifyArtifact(ctx, p.service.Name, p.service.Artifact); errors.Is(err, signing.ErrUnreachable) {
				r.log.Warn("verify artifact; retried", "err", err)
				return true, nil
			} else if err != nil {
				return false, r.markFailed(ctx, p, ro, set, err.Error()+"; it is not run and the traffic stays where it is")
			}
		}
		fresh := journal.InfraSet{ID: id, Service: p.service.Name, Stage: p.stage, Target: p.target.Name,
			Release: want, State: api.SetCreating, CreatedAt: now, UpdatedAt: now}
		why = fmt.Sprintf("release %s needs a new infra-set %s; traffic stays where it is until it is healthy", short(want), id)
		err = r.act(ctx, p.entry(id, want), "create-set", policyMakeBeforeBreak, why, nil, func() error {
			if err := r.store.PutInfraSet(ctx, fresh); err != nil {
				return err
			}
			spec, err := r.withSecretValues(specFor(fresh, p.service), p.service)
			if err != nil {
				return err
			}
			st, err := rt.Ensure(ctx, spec)
			statuses[id] = st
			return err
		})
		return true, err

	case set.State == api.SetFailed || set.State == api.SetRemoving:
		// Being removed by collect; made anew on a later pass.
		return true, nil
	}

	st := statuses[id]
	if !st.Healthy(p.service.Run.Replicas) {
		// Once a canary serves, an instance lost is replaced by the runtime;
		// the deadline is for becoming healthy in the first place.
		if ro.Phase == api.RolloutCreating && progressDeadlinePassed(p.service, ro.StartedAt, now) {
			return false, r.failRollout(ctx, p, ro, set, st, problems[id])
		}
		if ro.Rollback && set.State == api.SetWarm && progressDeadlinePassed(p.service, ro.StartedAt, now) {
			// A warm set started again for the rollback (warmMode minimal)
			// that does not become healthy: the traffic stays, the set
			// stays warm (and goes back to one instance).
			return false, r.failRollout(ctx, p, ro, set, st, problems[id])
		}
		if ro.Phase == api.RolloutCanary && serving != nil && progressDeadlinePassed(p.service, ro.StepStartedAt, now) {
			// The canary's health checks kept failing through a deadline:
			// the HTTP checks are part of the verdict too.
			return false, r.abortCanary(ctx, p, tr, sets, *set, *serving, statuses, ro,
				fmt.Sprintf("its health checks fail (%d of %d instances healthy) since the step started over %s ago", len(st.Endpoints()), p.service.Run.Replicas, progressWindow(p.service)))
		}
		return true, nil
	}
	if set.State == api.SetCreating {
		set.State, set.UpdatedAt = api.SetReady, now
		if err := r.store.PutInfraSet(ctx, *set); err != nil {
			return true, err
		}
		r.journal(ctx, journal.Entry{Kind: api.EntryEvent, Service: p.service.Name, Stage: p.stage, Target: p.target.Name,
			Set: id, Release: want, Rollout: ro.ID,
			Message: fmt.Sprintf("infra-set %s healthy: %d/%d instances pass %s", id, len(st.Endpoints()), p.service.Run.Replicas, p.service.Health.Path)})
	}
	if serving != nil && !ro.Rollback && ro.Check != checkDone && r.upDownStage(p) {
		if stop, err := r.upgradeDowngrade(ctx, p, rt, tr, sets, *set, *serving, statuses, &ro); err != nil || stop {
			return true, err
		}
	}
	if p.service.Strategy.Kind == schema.Canary && serving != nil && !ro.Rollback {
		return r.canary(ctx, p, tr, sets, *set, *serving, statuses, ro, pol)
	}
	if p.service.Strategy.Preview && serving != nil && !ro.Rollback {
		if err := r.ensurePreview(ctx, p, tr, *set, st); err != nil {
			return true, err
		}
	}
	if d, err := r.gate(ctx, pol, p, &ro, policy.GateStep{Kind: policy.StepPromote, Count: 1, Weight: 100}, readyFacts(set)); err != nil || d.Result != policy.Allow {
		return r.gated(ctx, p, ro, set, d, err)
	}
	return false, r.switchTo(ctx, p, tr, sets, *set, serving, statuses, ro)
}

// progressDeadlinePassed reports whether a set started at since had its
// time to become healthy by now: the health check's start period, during
// which its failed checks do not count, then the progress deadline. The
// runtimes do not report when an instance started, so since is when the
// reconciler started the instances: the rollout, the canary step, the
// upgrade-downgrade probe, the rollback that starts a warm set again.
func progressDeadlinePassed(svc schema.Service, since, now time.Time) bool {
	return now.Sub(since) > svc.Health.StartPeriod.Duration+svc.Strategy.ProgressDeadline.Duration
}

// progressWindow says how long a set has to become healthy, for a message.
func progressWindow(svc schema.Service) string {
	pd, sp := svc.Strategy.ProgressDeadline.Duration, svc.Health.StartPeriod.Duration
	if sp <= 0 {
		return pd.String()
	}
	return fmt.Sprintf("%s (start period %s, then progress deadline %s)", sp+pd, sp, pd)
}

// gated handles a gate that did not allow: a hold waits for the next pass;
// a deny fails the rollout, which is not retried until a new revision.
func (r *Reconciler) gated(ctx context.Context, p placement, ro journal.Rollout, set *journal.InfraSet, d policy.Decision, err error) (bool, error) {
	switch {
	case err != nil:
		return true, err
	case d.Result == policy.Hold:
		return false, errDenied
	}
	msg := fmt.Sprintf("the gate policy denied release %s (%s); traffic stays on the current set; not retried until a new revision", short(ro.Release), reasonsLine(d))
	return false, r.markFailed(ctx, p, ro, set, msg)
}

// startRollout finds or starts the rollout record of the desired release,
// abandoning any other in flight on the placement. It returns proceed=false
// when the release already failed at this revision: a failed release is not
// retried until a new revision.
func (r *Reconciler) startRollout(ctx context.Context, p placement, serving, set *journal.InfraSet) (journal.Rollout, bool, error) {
	want := p.service.ReleaseID()
	ro, err := r.store.Rollout(ctx, p.rolloutID(want))
	switch {
	case err == nil && !ro.Done():
		return ro, true, nil
	case err == nil && ro.Phase == api.RolloutFailed && ro.Revision == p.revision:
		return ro, false, nil
	case err != nil && !errors.Is(err, journal.ErrNotFound):
		return ro, false, err
	}
	if err := r.abandonOthers(ctx, p, want); err != nil {
		return ro, false, err
	}
	now := time.Now().UTC()
	ro = journal.Rollout{ID: p.rolloutID(want), Service: p.service.Name, Stage: p.stage, Target: p.target.Name,
		Release: want, Revision: p.revision, Set: infraSetID(p.service.Name, p.target.Name, want),
		Phase: api.RolloutCreating, StartedAt: now, UpdatedAt: now}
	if serving != nil {
		ro.FromRelease = serving.Release
	}
	if set != nil && set.State == api.SetWarm {
		ro.Rollback = true
		ro.Phase = api.RolloutSwitching
		ro.Message = "release is warm: switching traffic back at once"
		if p.service.Strategy.WarmMode == schema.WarmMinimal {
			ro.Message = "release is warm with one instance (warmMode minimal): starting the others again in its set, then switching traffic back"
		}
	}
	return ro, true, r.store.PutRollout(ctx, ro)
}

// abandonOthers marks every other rollout in flight on the placement as
// pre-empted; its infra-set, which never served, is collected.
func (r *Reconciler) abandonOthers(ctx context.Context, p placement, want string) error {
	all, err := r.store.Rollouts(ctx)
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.Done() || o.Release == want || o.Service != p.service.Name || o.Stage != p.stage || o.Target != p.target.Name {
			continue
		}
		o.Phase, o.UpdatedAt = api.RolloutAbandoned, time.Now().UTC()
		o.Message = "pre-empted by release " + short(want)
		if err := r.store.PutRollout(ctx, o); err != nil {
			return err
		}
		r.journal(ctx, journal.Entry{Kind: api.EntryEvent, Service: o.Service, Stage: o.Stage, Target: o.Target,
			Release: o.Release, Rollout: o.ID, Message: fmt.Sprintf("rollout of %s abandoned: a newer revision wants %s", short(o.Release), short(want))})
	}
	return nil
}

func (r *Reconciler) failRollout(ctx context.Context, p placement, ro journal.Rollout, set *journal.InfraSet, st adapters.InfraSetStatus, problem string) error {
	var reasons []string
	for _, in := range st.Instances {
		if !in.Healthy {
			reasons = append(reasons, fmt.Sprintf("instance %d: %s", in.Index, in.Reason))
		}
	}
	if problem != "" {
		reasons = append(reasons, problem)
	}
	if len(reasons) == 0 {
		reasons = append(reasons, fmt.Sprintf("%d of %d instances running", len(st.Instances), p.service.Run.Replicas))
	}
	msg := fmt.Sprintf("release %s did not become healthy within %s (%s); traffic stays on the current set; not retried until a new revision",
		short(ro.Release), progressWindow(p.service), strings.Join(reasons, "; "))
	return r.markFailed(ctx, p, ro, set, msg)
}

// markFailed ends a rollout as failed and its set, unless warm, as failed
// (collected later).
func (r *Reconciler) markFailed(ctx context.Context, p placement, ro journal.Rollout, set *journal.InfraSet, msg string) error {
	now := time.Now().UTC()
	ro.Phase, ro.Message, ro.UpdatedAt = api.RolloutFailed, msg, now
	if err := r.store.PutRollout(ctx, ro); err != nil {
		return err
	}
	if set != nil && set.State != api.SetWarm {
		set.State, set.Reason, set.UpdatedAt = api.SetFailed, msg, now
		if err := r.store.PutInfraSet(ctx, *set); err != nil {
			return err
		}
	}
	r.journal(ctx, journal.Entry{Kind: api.EntryEvent, Service: p.service.Name, Stage: p.stage, Target: p.target.Name,
		Set: ro.Set, Release: ro.Release, Rollout: ro.ID, Message: "rollout failed", Error: msg})
	r.log.Warn("rollout failed", "service", p.service.Name, "target", p.target.Name, "release", short(ro.Release), "reason", msg)
	r.revertFailed(ctx, ro, msg)
	return nil
}

// switchTo moves all of the service's traffic to next, keeping the set that
// served until now routable at weight 0 (warm).
func (r *Reconciler) switchTo(ctx context.Context, p placement, tr adapters.Traffic, sets []journal.InfraSet,
	next journal.InfraSet, serving *journal.InfraSet, statuses map[string]adapters.InfraSetStatus, ro journal.Rollout) error {
	st := statuses[next.ID]
	rule, why := policyMakeBeforeBreak, fmt.Sprintf("infra-set %s has %d/%d healthy instances: switch 100%% of traffic to it", next.ID, len(st.Endpoints()), p.service.Run.Replicas)
	if next.State == api.SetWarm {
		rule, why = policyRollback, fmt.Sprintf("release %s is still warm in %s: switch traffic back at once (rollback)", short(next.Release), next.ID)
		if p.service.Strategy.WarmMode == schema.WarmMinimal {
			why = fmt.Sprintf("release %s is warm in %s, started again with %d/%d healthy instances: switch traffic back (rollback)",
				short(next.Release), next.ID, len(st.Endpoints()), p.service.Run.Replicas)
		}
	}
	if serving != nil {
		why += fmt.Sprintf("; %s stays warm", serving.ID)
	}
	now := time.Now().UTC()
	next.State, next.ServedAt, next.UpdatedAt, next.Weight = api.SetServing, now, now, 0
	split, err := desiredSplit(p, replace(sets, next, serving, now), statuses)
	if err != nil {
		return err
	}
	if err := r.act(ctx, p.entry(next.ID, next.Release), "set-split", rule, why, split, func() error { return tr.SetSplit(ctx, split) }); err != nil {
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
	ro.Phase, ro.UpdatedAt = api.RolloutSucceeded, now
	if ro.Message == "" || ro.Rollback {
		ro.Message = why
	}
	return r.store.PutRollout(ctx, ro)
}

// finishRollout marks the desired release's rollout succeeded once its set
// serves (after a crash between the switch and the journal write, say).
func (r *Reconciler) finishRollout(ctx context.Context, p placement, want string) error {
	ro, err := r.store.Rollout(ctx, p.rolloutID(want))
	if errors.Is(err, journal.ErrNotFound) || (err == nil && ro.Done()) {
		return nil
	}
	if err != nil {
		return err
	}
	ro.Phase, ro.UpdatedAt = api.RolloutSucceeded, time.Now().UTC()
	return r.store.PutRollout(ctx, ro)
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

// setsOf lists the journal's infra-sets of a placement that are not removed.
func (r *Reconciler) setsOf(ctx context.Context, p placement) ([]journal.InfraSet, error) {
	all, err := r.store.InfraSets(ctx)
	if err != nil {
		return nil, err
	}
	var out []journal.InfraSet
	for _, s := range all {
		if s.Service == p.service.Name && s.Target == p.target.Name && s.Stage == p.stage && s.State != api.SetRemoved {
			out = append(out, s)
		}
	}
	return out, nil
}

// specOf rebuilds the runtime instructions of a journaled set from its
// release, which the journal keeps whole.
func (r *Reconciler) specOf(ctx context.Context, s journal.InfraSet) (adapters.InfraSetSpec, error) {
	svc, err := r.serviceOf(ctx, s.Release)
	if err != nil {
		return adapters.InfraSetSpec{}, fmt.Errorf("infra-set %s: %w", s.ID, err)
	}
	return r.withSecretValues(specFor(s, svc), svc)
}

// withSecretValues adds the service's secrets, read on this host now, to
// the instructions for the runtime: the only place their values go.
func (r *Reconciler) withSecretValues(spec adapters.InfraSetSpec, svc schema.Service) (adapters.InfraSetSpec, error) {
	if len(svc.Run.SecretEnv) == 0 {
		return spec, nil
	}
	values, err := r.resolveSecrets(svc)
	if err != nil {
		return spec, err
	}
	env := make(map[string]string, len(spec.Env)+len(values))
	for k, v := range spec.Env {
		env[k] = v
	}
	for k, v := range values {
		env[k] = v
	}
	spec.Env = env
	return spec, nil
}

// serviceOf reads the service as a journaled release declared it.
func (r *Reconciler) serviceOf(ctx context.Context, release string) (schema.Service, error) {
	var svc schema.Service
	rel, err := r.store.Release(ctx, release)
	if err != nil {
		return svc, err
	}
	if err := json.Unmarshal(rel.Spec, &svc); err != nil {
		return svc, fmt.Errorf("release %s: %w", short(release), err)
	}
	return svc, nil
}

func specFor(s journal.InfraSet, svc schema.Service) adapters.InfraSetSpec {
	var res adapters.Resources
	if r := svc.Run.Resources; r != nil {
		res = adapters.Resources{NanoCPUs: int64(r.CPUs * 1e9), MemoryBytes: r.MemoryBytes()}
	}
	return adapters.InfraSetSpec{Resources: res,
		ID: s.ID, Service: s.Service, Release: s.Release, Artifact: svc.Artifact,
		Args: svc.Run.Args, Env: svc.Run.Env, Port: svc.Run.Port, Replicas: svc.Run.Replicas,
		Health: adapters.HealthCheck{Path: svc.Health.Path, ExpectStatus: svc.Health.ExpectStatus, Timeout: svc.Health.Timeout.Duration},
	}
}

func find(sets []journal.InfraSet, pred func(journal.InfraSet) bool) *journal.InfraSet {
	for i := range sets {
		if pred(sets[i]) {
			s := sets[i]
			return &s
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
