package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
// pipeline, policies, approvals or trust change, which dirties all; and each
// is converged again within Config.ResyncInterval of when it was marked
// clean (see resyncAfter). A placement with a
// rollout in flight, a bake or an analysis under way is never clean: it is
// converged every pass at the active pace. Only the loop's goroutine uses
// work.
type work struct {
	keys map[string]cleanKey
	// global is the fingerprint of what dirties every placement.
	global string
	// desired is the desired state the last pass saw; fresh, the
	// services its arrival changed, sorted.
	desired *schema.DesiredState
	fresh   []string
	// diff is what the admission found changed from one desired state to
	// the next (see noteDiff).
	diff desiredDiff
	// busy are the placements the last pass left in flight, which busy
	// passes converge between full ones (fullAt the last); finished says
	// one of them finished since the last full pass, which may let another
	// placement start (a next stage, a dependant).
	busy     map[string]position
	fullAt   time.Time
	finished bool
	// wake is the earliest time, in Unix nanoseconds, something asked a
	// full pass for (a stage bake's end); 0: none.
	wake atomic.Int64
	// releases and prints remember, for the desired state releasesOf and
	// printsOf, each service's release and each placement's fingerprint.
	releasesOf, printsOf *schema.DesiredState
	releases             map[string]string
	prints               map[string]fingerprint
}

// start and finish note a placement in flight, or no more.
func (w *work) start(p placement) {
	if w.busy == nil {
		w.busy = map[string]position{}
	}
	w.busy[p.key()] = p.at
}

func (w *work) finish(key string) {
	if _, ok := w.busy[key]; ok {
		delete(w.busy, key)
		w.finished = true
	}
}

// inFlight is the placements in flight, in a stable order.
func (w *work) inFlight() []position {
	out := make([]position, 0, len(w.busy))
	for _, key := range sortedKeys(w.busy) {
		out = append(out, w.busy[key])
	}
	return out
}

// wakeAt asks for a full pass at t at the latest. Safe from any goroutine.
func (w *work) wakeAt(t time.Time) {
	n := t.UnixNano()
	for {
		old := w.wake.Load()
		if old != 0 && old <= n || w.wake.CompareAndSwap(old, n) {
			return
		}
	}
}

// fullDue reports whether the next pass must look at every placement:
// none is in flight, one finished, the idle period is up or a wake is due.
func (w *work) fullDue(idle time.Duration) bool {
	wake := w.wake.Load()
	return len(w.busy) == 0 || w.finished || time.Since(w.fullAt) >= idle ||
		wake != 0 && time.Now().UnixNano() >= wake
}

// next is the pause before the next pass: the active pace while anything
// is in flight or one just finished (the full pass that finish calls for
// may start a next stage or a dependant: waiting the idle period there
// made every stage of a pipeline wait it), else what is left of the idle
// period, or less to a wake.
func (w *work) next(active bool, activeEvery, idle time.Duration) time.Duration {
	if active || len(w.busy) > 0 || w.finished {
		return activeEvery
	}
	next := idle - time.Since(w.fullAt)
	if wake := w.wake.Load(); wake != 0 {
		next = min(next, time.Until(time.Unix(0, wake)))
	}
	return max(next, 0)
}

// releaseOf is a service's desired release in ds, computed once per
// desired state (an accepted desired state is never changed): a pass asks
// it of every placement, and it is a digest of the service's content.
func (w *work) releaseOf(ds *schema.DesiredState, service string) string {
	if ds != w.releasesOf {
		w.releasesOf, w.releases = ds, map[string]string{}
	}
	id, ok := w.releases[service]
	if !ok {
		id = ds.Services[service].ReleaseID()
		w.releases[service] = id
	}
	return id
}

// fingerprintOf is p.fingerprint(), remembered per placement for the
// desired state and the release it was taken for: the service a placement
// converges on is the desired state's, or the journal's record of the
// release, both fixed for the pair.
func (w *work) fingerprintOf(ds *schema.DesiredState, p placement) string {
	if ds != w.printsOf {
		w.printsOf, w.prints = ds, map[string]fingerprint{}
	}
	if p.release == "" {
		return p.fingerprint() // not from placementOf: nothing to key on
	}
	key := p.key()
	if f, ok := w.prints[key]; ok && f.release == p.release {
		return f.digest
	}
	digest := p.fingerprint()
	w.prints[key] = fingerprint{p.release, digest}
	return digest
}

type fingerprint struct{ release, digest string }

// changed lists, sorted, the services whose settings or release the newest
// desired state changed from the one before (as the admission's diff says:
// their JSON differs): the pass converges them first. The list is made
// once per desired state, from the admission's diff when it was taken from
// the state the last pass saw (a fleet of 10,000 is not compared again
// between a revision and its first action), else by diffing.
func (w *work) changed(ds *schema.DesiredState) []string {
	if ds == w.desired {
		return w.fresh
	}
	d := w.diff
	if d.to != ds || d.from != w.desired || d.from == nil {
		d = desiredDiff{}
		if w.desired != nil {
			d = diffOf(w.desired, ds, schema.Diff(w.desired, ds))
		}
	}
	w.desired, w.fresh = ds, d.services
	return w.fresh
}

// desiredDiff is the services a revision added or changed (sorted),
// between the desired states from and to.
type desiredDiff struct {
	from, to *schema.DesiredState
	services []string
}

// noteDiff keeps what the admission found changed from from to to.
func (w *work) noteDiff(from, to *schema.DesiredState, c schema.Change) {
	w.diff = diffOf(from, to, c)
}

func diffOf(from, to *schema.DesiredState, c schema.Change) desiredDiff {
	d := desiredDiff{from: from, to: to}
	for _, name := range sortedKeys(c.Services) {
		if sc := c.Services[name]; sc.Change == schema.Added || sc.Change == schema.Changed {
			d.services = append(d.services, name)
		}
	}
	return d
}

// cleanKey is what a clean placement was converged against: its wanted
// service, the runtime's observation of each of its sets, and its split;
// and until when it stays clean without a resync.
type cleanKey struct {
	want  string
	sets  map[string]string
	split adapters.Split
	until time.Time
}

// resyncAfter is how long a placement marked clean stays so before it is
// converged again though nothing dirtied it: a random time from half the
// resync interval to all of it, so that the resync of a fleet converged at
// once (at start, after a new trust file) spreads over the passes instead
// of converging every placement in one.
func resyncAfter(every time.Duration) time.Duration {
	return every - rand.N(every/2+1)
}

func (p placement) key() string { return placementKey(p.service.Name, p.stage, p.target.Name) }

// placementKey names a service on a target of a stage, by the stage's name.
func placementKey(service, stage, target string) string {
	return service + "\x00" + stage + "\x00" + target
}

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
	w.busy, w.fullAt, w.finished = map[string]position{}, time.Now(), false
	w.wake.Store(0) // asked again by what still waits
	if global != w.global || w.keys == nil {
		w.keys, w.global = map[string]cleanKey{}, global
	}
}

// observation is what a pass read of its targets, once each: each set's
// instances, as a digest by set, from the runtimes; and, from the traffic
// adapters that list them (adapters.SplitLister), every service's split by
// adapter.
type observation struct {
	sets   map[string]string
	splits map[string]map[string]adapters.Split
	// runs is what each runtime listed, by adapter key; acts the
	// reconciler's action count when it was taken (see runsOf).
	runs map[string][]adapters.InfraSetStatus
	acts int64
	// unlisted are the runtimes, by adapter key, whose listing failed.
	unlisted map[string]bool
	// observe fills the observation, on first use (get). While deferred,
	// placements are converged without it and none is marked clean: what
	// a pass does first does not wait for the fleet to be observed.
	observe  func()
	deferred bool
}

// get observes the targets the first time it is called.
func (seen *observation) get() *observation {
	if seen.sets == nil {
		seen.sets, seen.splits = map[string]string{}, map[string]map[string]adapters.Split{}
		seen.runs, seen.unlisted = map[string][]adapters.InfraSetStatus{}, map[string]bool{}
		seen.observe()
	}
	return seen
}

// observe lists what every runtime of the desired state's targets runs, and
// what every traffic adapter that can list its splits routes. A runtime
// that cannot be listed leaves its sets unobserved: their placements are
// converged, which reports the error. A traffic adapter that cannot list
// is asked service by service.
//
// The adapters are asked in parallel, at most observeParallel at once:
// each is a different target, and a slow one does not hold the others.
func (r *Reconciler) observe(ctx context.Context, ds *schema.DesiredState, seen *observation) {
	// A hung target leaves its placements unobserved (converged, which
	// reports it) instead of holding the pass up to its adapter's bound;
	// a newer revision ends the observation at once (the pass stops at
	// its next placement anyway), so a revert never waits behind it.
	ctx, stop := r.untilNewer(ctx)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	seen.acts = r.acts.Load()
	r.failing.retainTargets(ds)
	listed := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, observeParallel)
	ask := func(fn func(context.Context, schema.Target, *observation, *sync.Mutex), target schema.Target) {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			fn(ctx, target, seen, &mu)
		}()
	}
	for _, name := range sortedKeys(ds.Targets) {
		target := ds.Targets[name]
		if key := adapterKey(target, target.Runtime); !listed[key] {
			listed[key] = true
			ask(r.observeRuntime, target)
		}
		if key := adapterKey(target, target.Traffic); !listed["traffic\x00"+key] {
			listed["traffic\x00"+key] = true
			ask(r.observeSplits, target)
		}
	}
	wg.Wait()
}

// observeParallel bounds the adapters observed at once; observeTimeout
// the observation of all.
const observeParallel = 8

var observeTimeout = 5 * time.Second

func (r *Reconciler) observeRuntime(ctx context.Context, target schema.Target, seen *observation, mu *sync.Mutex) {
	rt, err := r.targets.runtime(target)
	if err != nil {
		return
	}
	sets, err := rt.Observe(ctx)
	r.noteTry(ctx, runtimeDependency(target), err)
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		r.log.Debug("observe runtime", "target", target.Name, "err", err)
		seen.unlisted[adapterKey(target, target.Runtime)] = true
		return
	}
	seen.runs[adapterKey(target, target.Runtime)] = sets
	for _, st := range sets {
		seen.sets[st.ID] = instancesDigest(st)
	}
}

// runsOf is what the runtime of adapter key listed this pass, when the
// pass observed it and took no action since: what it lists is then what
// asking again would list.
func (seen *observation) runsOf(r *Reconciler, key string) ([]adapters.InfraSetStatus, bool) {
	if seen == nil || seen.sets == nil || r.acts.Load() != seen.acts {
		return nil, false
	}
	sets, ok := seen.runs[key]
	return sets, ok
}

func (r *Reconciler) observeSplits(ctx context.Context, target schema.Target, seen *observation, mu *sync.Mutex) {
	tr, err := r.targets.traffic(target)
	if err != nil {
		return
	}
	lister, ok := tr.(adapters.SplitLister)
	if !ok {
		return
	}
	all, err := lister.Splits(ctx)
	if errors.Is(err, adapters.ErrInvalid) {
		r.noteDependency(ctx, trafficDependency(target), nil) // it cannot list: asked split by split
	} else {
		r.noteTry(ctx, trafficDependency(target), err)
	}
	if err != nil {
		r.log.Debug("list splits; asking service by service", "target", target.Name, "err", err)
		return
	}
	byService := make(map[string]adapters.Split, len(all))
	for _, split := range all {
		byService[split.Service] = split
	}
	mu.Lock()
	defer mu.Unlock()
	seen.splits[adapterKey(target, target.Traffic)] = byService
}

// split is the service's split on the placement's target: as listed this
// pass when its traffic adapter lists, else read of it.
func (seen *observation) split(ctx context.Context, r *Reconciler, tr adapters.Traffic, p placement) (adapters.Split, error) {
	listed, ok := seen.splits[adapterKey(p.target, p.target.Traffic)]
	if !ok {
		return r.readSplit(ctx, p.target, tr, p.service.Name)
	}
	split, ok := listed[p.service.Name]
	if !ok {
		return adapters.Split{}, fmt.Errorf("service %s: no split listed: %w", p.service.Name, adapters.ErrNotFound)
	}
	return split, nil
}

// instancesDigest is a set's instances: index and endpoint. Not health: a
// runtime's Observe knows no health check (it has no spec), Ensure does,
// so health would tell an observation from a converge's status every time
// and leave nothing clean. An instance dead or replaced changes the digest;
// one unhealthy but running is seen by the resync, and by every pass of a
// rollout in flight.
func instancesDigest(st adapters.InfraSetStatus) string {
	ins := slices.Clone(st.Instances)
	slices.SortFunc(ins, func(a, b adapters.Instance) int { return a.Index - b.Index })
	var sb strings.Builder
	for _, in := range ins {
		fmt.Fprintf(&sb, "%d %s;", in.Index, in.Endpoint)
	}
	return sb.String()
}

// markClean records a placement that converging left with nothing to do,
// when it is at rest: its wanted release serving, every other set warm,
// each set observed as the step left it, and the split as wanted.
func (w *work) markClean(ctx context.Context, ro *rollout, seen *observation) {
	if ro == nil || w.keys == nil || seen.deferred {
		return // converged again next pass, then marked
	}
	seen = seen.get()
	p := ro.p
	c := cleanKey{want: w.fingerprintOf(ro.r.desiredState(), p), sets: map[string]string{},
		until: time.Now().Add(resyncAfter(ro.r.cfg.ResyncInterval))}
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
	have, err := ro.r.readSplit(ctx, p.target, ro.tr, p.service.Name)
	if err != nil || !sameSplit(want, have) {
		return
	}
	c.split = want
	w.keys[p.key()] = c
}

// clean reports whether a placement is clean and what its target runs and
// routes is still what it was converged to; else it is dirtied. Reading the
// split records it for status, as converging does.
func (w *work) clean(ctx context.Context, r *Reconciler, p placement, seen *observation) bool {
	c, ok := w.keys[p.key()]
	if !ok {
		return false
	}
	delete(w.keys, p.key()) // kept only if still clean
	if !time.Now().Before(c.until) || c.want != w.fingerprintOf(r.desiredState(), p) {
		return false
	}
	seen = seen.get()
	for id, digest := range c.sets {
		if seen.sets[id] != digest {
			return false
		}
	}
	tr, err := r.targets.traffic(p.target)
	if err != nil {
		return false
	}
	have, err := seen.split(ctx, r, tr, p)
	if err != nil {
		return false
	}
	r.observed.noteSplit(p.target.Name, have)
	r.countServed(ctx, p.target, tr, have)
	if !sameSplit(c.split, have) {
		return false
	}
	w.keys[p.key()] = c
	return true
}

// revertsFirst converges, before anything else, the placements whose wanted
// release is one of their warm sets: a revert switches traffic back without
// waiting behind the pass. It returns the placements it converged.
func (r *Reconciler) revertsFirst(ctx context.Context, ds *schema.DesiredState, rev journal.Revision, seen *observation) (map[string]bool, bool, error) {
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
		if s.State != api.SetWarm || !ok || !inPipeline || !targeted || svc.ReleaseID() != s.Release || !r.owns(s.Service) {
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
