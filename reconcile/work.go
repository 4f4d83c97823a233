package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// work is what the loop knows it need not do: the placements (service ×
// stage × target) that a converge found converged and with nothing to do,
// with what they were converged against. A clean placement is skipped until
// something dirties it: its wanted release or settings change (a revision,
// a promotion, a secret), what its target runs or routes differs from what
// was converged (drift, a dead instance), or the desired state's targets,
// pipeline, policies, approvals or trust change, which dirties all; and all
// are converged again every Config.ResyncInterval. A placement with a
// rollout in flight, a bake or an analysis under way is never clean: it is
// converged every pass at the active pace. Only the loop's goroutine uses
// work.
type work struct {
	keys map[string]cleanKey
	// global is the fingerprint of what dirties every placement; resynced
	// when every placement was last dirtied.
	global   string
	resynced time.Time
	// view is the journal's sets and rollouts as read since the last
	// placement converged: checking a clean placement writes nothing, so
	// a pass over clean placements reads the journal once.
	view *journalView
	// desired is the desired state the services' digests in services
	// were taken from; fresh, the services its arrival changed, sorted.
	desired  *schema.DesiredState
	services map[string]string
	fresh    []string
}

// changed lists, sorted, the services whose settings or release the newest
// desired state changed from the one before: the pass converges them
// first. The list is made once per desired state.
func (w *work) changed(ds *schema.DesiredState) []string {
	if ds == w.desired {
		return w.fresh
	}
	digests := make(map[string]string, len(ds.Services))
	var fresh []string
	for _, name := range sortedKeys(ds.Services) {
		b, _ := json.Marshal(ds.Services[name])
		sum := sha256.Sum256(b)
		digests[name] = hex.EncodeToString(sum[:])
		if old, ok := w.services[name]; w.services != nil && (!ok || old != digests[name]) {
			fresh = append(fresh, name)
		}
	}
	w.desired, w.services, w.fresh = ds, digests, fresh
	return fresh
}

// journalView is the journal's view, read again after any converge.
func (w *work) journalView(ctx context.Context, r *Reconciler) (journalView, error) {
	if w.view != nil {
		return *w.view, nil
	}
	v, err := r.view(ctx)
	if err == nil {
		w.view = &v
	}
	return v, err
}

// cleanKey is what a clean placement was converged against: its wanted
// service, the runtime's observation of each of its sets, and its split.
type cleanKey struct {
	want  string
	sets  map[string]string
	split adapters.Split
}

func (p placement) key() string { return p.service.Name + "\x00" + p.stage + "\x00" + p.target.Name }

// fingerprint is what a placement converges against, as a digest.
func (p placement) fingerprint() string {
	b, _ := json.Marshal(struct {
		Service schema.Service
		Target  schema.Target
		Hold    bool
	}{p.service, p.target, p.hold})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// begin dirties every placement when what all depend on changed, or when
// the resync is due.
func (w *work) begin(r *Reconciler, ds *schema.DesiredState, rev journal.Revision) {
	r.mu.Lock()
	stamp := r.trustStamp
	r.mu.Unlock()
	b, _ := json.Marshal(struct {
		Targets   map[string]schema.Target
		Pipeline  schema.Pipeline
		Policies  map[string]string
		Approvals json.RawMessage
		Trust     string
	}{ds.Targets, ds.Pipeline, rev.Policies, rev.Approvals, stamp})
	sum := sha256.Sum256(b)
	global := hex.EncodeToString(sum[:])
	w.view = nil // written by anyone since the last pass
	if global != w.global || time.Since(w.resynced) >= r.cfg.ResyncInterval || w.keys == nil {
		w.keys, w.global, w.resynced = map[string]cleanKey{}, global, time.Now()
	}
}

// observation is what a pass read of its targets' runtimes, once each:
// each set's instances, as a digest by set.
type observation struct {
	sets map[string]string
}

// observe lists what every runtime of the desired state's targets runs.
// A runtime that cannot be listed leaves its sets unobserved: their
// placements are converged, which reports the error.
func (r *Reconciler) observe(ctx context.Context, ds *schema.DesiredState) observation {
	seen := observation{sets: map[string]string{}}
	listed := map[string]bool{}
	for _, name := range sortedKeys(ds.Targets) {
		target := ds.Targets[name]
		if key := adapterKey(target.Runtime); !listed[key] {
			listed[key] = true
			rt, err := r.targets.runtime(target)
			if err != nil {
				continue
			}
			sets, err := rt.Observe(ctx)
			if err != nil {
				r.log.Debug("observe runtime", "target", name, "err", err)
				continue
			}
			for _, st := range sets {
				seen.sets[st.ID] = instancesDigest(st)
			}
		}
	}
	return seen
}

// instancesDigest is a set's instances: index, endpoint and health.
func instancesDigest(st adapters.InfraSetStatus) string {
	ins := slices.Clone(st.Instances)
	slices.SortFunc(ins, func(a, b adapters.Instance) int { return a.Index - b.Index })
	var sb strings.Builder
	for _, in := range ins {
		fmt.Fprintf(&sb, "%d %s %v;", in.Index, in.Endpoint, in.Healthy)
	}
	return sb.String()
}

// markClean records a placement that converging left with nothing to do,
// when it is at rest: its wanted release serving, every other set warm,
// each set observed as the step left it, and the split as wanted.
func (w *work) markClean(ctx context.Context, ro *rollout, seen observation) {
	if ro == nil || w.keys == nil {
		return
	}
	p := ro.p
	c := cleanKey{want: p.fingerprint(), sets: map[string]string{}}
	for _, s := range ro.sets {
		switch {
		case s.State == api.SetServing && s.Release == p.service.ReleaseID():
		case s.State == api.SetWarm:
		default:
			return
		}
		digest, ok := seen.sets[s.ID]
		if !ok || digest != instancesDigest(ro.statuses[s.ID]) {
			return
		}
		c.sets[s.ID] = digest
	}
	if find(ro.sets, isServing) == nil {
		return
	}
	want, err := desiredSplit(p, ro.sets, ro.statuses)
	if err != nil {
		return
	}
	have, err := ro.tr.Split(ctx, p.service.Name)
	if err != nil || !sameSplit(want, have) {
		return
	}
	c.split = want
	w.keys[p.key()] = c
}

// clean reports whether a placement is clean and what its target runs and
// routes is still what it was converged to; else it is dirtied. Reading the
// split records it for status, as converging does.
func (w *work) clean(ctx context.Context, r *Reconciler, p placement, seen observation) bool {
	c, ok := w.keys[p.key()]
	if !ok {
		return false
	}
	delete(w.keys, p.key()) // kept only if still clean
	if c.want != p.fingerprint() {
		return false
	}
	for id, digest := range c.sets {
		if seen.sets[id] != digest {
			return false
		}
	}
	tr, err := r.targets.traffic(p.target)
	if err != nil {
		return false
	}
	have, err := tr.Split(ctx, p.service.Name)
	if err != nil {
		return false
	}
	r.observed.noteSplit(p.target.Name, have)
	r.countServed(ctx, p.target.Name, tr, have)
	if !sameSplit(c.split, have) {
		return false
	}
	w.keys[p.key()] = c
	return true
}

// revertsFirst converges, before anything else, the placements whose wanted
// release is one of their warm sets: a revert switches traffic back without
// waiting behind the pass. It returns the placements it converged.
func (r *Reconciler) revertsFirst(ctx context.Context, ds *schema.DesiredState, rev journal.Revision, seen observation) (map[string]bool, bool, error) {
	done, active := map[string]bool{}, false
	all, err := r.store.InfraSets(ctx)
	if err != nil {
		return nil, false, err
	}
	stages := map[string]int{}
	for i, st := range ds.Pipeline.Stages {
		stages[st.Name] = i
	}
	for _, s := range all {
		svc, ok := ds.Services[s.Service]
		i, inPipeline := stages[s.Stage]
		_, targeted := ds.Targets[s.Target]
		targeted = targeted && inPipeline && slices.Contains(ds.Pipeline.Stages[i].Targets, s.Target)
		if s.State != api.SetWarm || !ok || !inPipeline || !targeted || svc.ReleaseID() != s.Release {
			continue
		}
		p, ok, err := r.placementOf(ctx, ds, rev, position{s.Service, i, s.Target})
		if err != nil {
			return nil, false, err
		}
		if !ok || done[p.key()] || p.service.ReleaseID() != s.Release {
			continue
		}
		done[p.key()] = true
		active = r.step(ctx, p, seen) || active
	}
	return done, active, nil
}
