// Package reconcile is the controller: it turns revisions of the
// desired-state repository into journaled actions on targets, and keeps the
// targets converged on the last accepted revision.
//
// Every pass is level-triggered: it derives what to do from the desired state,
// the journal and what the adapters observe, so a reconciler killed at any
// instant resumes by simply running its next pass. Every action is preceded by
// a decision and an intent in the journal and followed by an outcome. A pass
// observes every target but converges only the placements something dirtied
// (work.go), and stops early for a newer revision (inbox.go).
// Bad input (a revision that does not load) is journaled and shown; it never
// changes what is running.
//
// A pass builds, for each placement (a service on a target of a stage), one
// rollout value (rollout.go) that holds what the pass knows of it: the
// target's adapters, the journaled infra-sets, what the runtime runs, the
// rollout record and the policies. Its methods are what a rollout does:
// forward (forward.go), the canary's steps (canary.go), the switch
// (switch.go), the warm sets' scaling (warm.go), the upgrade-downgrade test
// (updown.go), the gate (gate.go) and the collection of sets (collect.go).
// Every action of theirs goes through act (journal.go). The canary's
// analysis, which needs nothing of the reconciler, is the package analysis.
package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/secrets/onhost"
	"github.com/durable-delivery/durable/secrets/redact"
	"github.com/durable-delivery/durable/secrets/sops"
	"github.com/durable-delivery/durable/signing"
	"github.com/durable-delivery/durable/source"
)

// DefaultResync is the resync interval when none is set: Argo CD's default
// reconciliation period. An idle pass already sees an instance die or a
// split change within the idle interval; the resync adds only what no
// observation shows, an instance that runs but fails its health check.
const DefaultResync = 3 * time.Minute

// Config tunes a Reconciler.
type Config struct {
	// ActiveInterval is the pause between passes while a rollout is in
	// flight; IdleInterval between passes otherwise (drift repair).
	ActiveInterval time.Duration
	IdleInterval   time.Duration
	// ResyncInterval is how long a placement stays clean at most before it
	// is converged again though nothing dirtied it (see work.go, spread
	// over its second half): what events and observation miss is caught
	// then.
	ResyncInterval time.Duration
	// DrainTimeout bounds how long a set leaving the traffic may keep
	// in-flight requests before its instances are stopped.
	DrainTimeout time.Duration
	// StopGrace is how long instances get to exit after SIGTERM.
	StopGrace time.Duration
	Host      adapters.Host
	// Fleet is what the reconciler presents to the agents of the hosts
	// targets name; empty, such a target is refused.
	Fleet Fleet
	// RequireAgents refuses a revision with a target on the reconciler's
	// own host (no host:): under an election (durable run --etcd) only an
	// agent can refuse a deposed leader's actions.
	RequireAgents bool
	Logger        *slog.Logger
	// HostPolicies is the second policy source, trusted separately from the
	// repository (organisation-wide rules a team cannot edit); it may be
	// empty. Both sources must allow.
	HostPolicies policy.Source
	// PolicyTimeout bounds one decision; Location is the timezone of the
	// clock given to policies (input.now).
	PolicyTimeout time.Duration
	Location      *time.Location
	// RevertOnFailure pushes, after a rollout fails, a commit that puts the
	// previous revision's tree back, so that Git shows what runs. Without
	// it, status says the head's release failed.
	RevertOnFailure bool
	// DriftReportOnly journals a traffic split changed by hand instead of
	// restoring it. Dead instances are replaced either way.
	DriftReportOnly bool
	// ScrapeTargets, when set, is a Prometheus file_sd targets file the
	// reconciler keeps listing every live instance, labelled with its
	// service, set, release, stage and target.
	ScrapeTargets string
	// Trust is the host's trust file: which keys sign which artifacts and
	// commits. Without one, artifacts and commits are not verified, and
	// status says so.
	Trust *signing.Trust
	// SopsIdentities are the age identities that decrypt the SOPS files
	// of the repository that secrets name. Without them, a revision with a
	// SOPS secret is rejected, saying how to give them; one without needs
	// none.
	SopsIdentities *sops.Identities
	// HostSecrets are the operator's secrets directory and the variables
	// secrets may come from (--secrets-dir, --secret-env). Without them, a
	// revision with a file or env secret is rejected, saying how to give
	// them.
	HostSecrets *onhost.Secrets
	// Redactor learns every secret value the reconciler resolves; its log
	// and journal go through it. durable run shares it with the adapters'
	// log (slog's default). nil: one of the reconciler's own.
	Redactor *redact.Redactor
	// LoadState evaluates a revision's desired state; nil is schema.Load,
	// in this process. durable run gives schema.Isolation's Load, which
	// bounds a hostile revision's time and memory in a child process.
	LoadState func(context.Context, fs.FS) (*schema.DesiredState, error)
	// Owns, when set, is which services this reconciler converges: the
	// others belong to other reconcilers sharing its journal (durable run
	// --etcd with shards), and it neither acts on their placements nor
	// collects their sets. nil: all.
	Owns func(service string) bool
	// Follow takes each revision as the journal has it — judged by the
	// reconciler that takes revisions in, another one sharing the journal
	// — instead of judging it: the source only tells it which commit to
	// wait for (follow.go).
	Follow bool
	// Warnings are the guarantees the operator started the reconciler
	// without (--insecure-skip-verify, instances as root): journaled when
	// Run starts, and shown in every status.
	Warnings []api.Warning
}

func (c *Config) defaults() {
	c.Warnings = slices.Clone(c.Warnings) // dated in place when Run starts
	if c.ActiveInterval <= 0 {
		c.ActiveInterval = 200 * time.Millisecond
	}
	if c.IdleInterval <= 0 {
		c.IdleInterval = 2 * time.Second
	}
	if c.ResyncInterval <= 0 {
		c.ResyncInterval = DefaultResync
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 30 * time.Second
	}
	if c.StopGrace <= 0 {
		c.StopGrace = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	if c.LoadState == nil {
		c.LoadState = func(_ context.Context, fsys fs.FS) (*schema.DesiredState, error) { return schema.Load(fsys) }
	}
}

// Fetcher is what the reconciler needs of a source.
type Fetcher interface {
	Watch(ctx context.Context, fn func(source.Snapshot, error))
	Trigger()
	Branch() string
}

// Reconciler watches a source and converges targets on its head.
type Reconciler struct {
	cfg      Config
	store    journal.Store
	source   Fetcher
	targets  *targetSet
	observed observations
	failing  failures
	reach    reachability
	log      *slog.Logger
	// redactor holds the values of the secrets resolved so far: the log
	// and the journal (store) go through it.
	redactor *redact.Redactor

	// states are the desired states admission prepared last.
	states preparedStates
	// fleetParts are the invariant's fleet's services prepared last.
	fleetParts fleetParts

	mu sync.Mutex
	// desired is the last accepted revision's desired state; nil before
	// any revision was accepted. revision is that revision as journaled,
	// without its DesiredState: desired holds it decoded, and its JSON
	// as well was 8 MB at 10,000 services (withoutState).
	desired  *schema.DesiredState
	revision journal.Revision
	policies policies
	// healthy counts the healthy instances of each live set at the last
	// pass, for the invariant policy's view of the fleet.
	healthy map[string]int
	// endpoints are the instances of each live set at the last pass;
	// lastScrape is the scrape targets file as last written.
	endpoints  map[string][]string
	lastScrape []byte
	// lastVerdict is the last journaled verdict per subject, so that a
	// decision asked every pass is journaled when it changes.
	lastVerdict map[string]string
	// verifier checks artifacts against Trust (nil without one); verified
	// remembers the digests whose verdict is journaled.
	verifier *signing.Verifier
	verified map[string]bool
	// trustStamp is the trust file's modification time and size when it
	// was last read.
	trustStamp string
	// reverted remembers the revisions a revert commit was pushed for.
	reverted map[string]bool
	// sourceErr is the last error fetching the repository, shown in status.
	sourceErr   error
	sourceErrAt time.Time
	// stageBakes mirrors the journal's stage bakes (see stagebake.go):
	// nil until loaded from the journal, written only after it.
	stageBakes map[string]stageBake
	// replicas is each journaled release's desired instance count (see
	// replicasOf).
	replicas map[string]int
	// dependentsBy indexes the services depending on each, for the
	// desired state dependentsFor (see dependents).
	dependentsFor *schema.DesiredState
	dependentsBy  map[string][]string
	// sopsDocs are the decrypted SOPS files of journaled releases, by kept
	// file (see keptSopsDocument).
	sopsDocs map[string]sopsDocument

	// inbox is the newest fetch result not yet taken; work the placements
	// found converged and clean (work.go), owned by the loop's goroutine;
	// acts counts the actions asked for, so that a converge that did
	// nothing is told from one that did.
	inbox inbox
	work  work
	acts  atomic.Int64
	// awaiting is, under Config.Follow, the commit fetched whose verdict
	// the journal does not have yet (see follow.go); owned by the loop.
	awaiting string
	// trees are the desired states of the trees evaluated last.
	trees treeCache
	// pending are the runtime calls left to finish in the background; bg
	// is Run's context, theirs.
	pending pendingEnsures
	bg      context.Context
}

// New builds a reconciler. It resumes from the journal: the last accepted
// revision is the desired state until the source says otherwise.
func New(ctx context.Context, cfg Config, st journal.Store, src Fetcher) (*Reconciler, error) {
	cfg.defaults()
	red := cfg.Redactor
	if red == nil {
		red = redact.New()
	}
	r := &Reconciler{
		cfg:      cfg,
		store:    redactedStore{st, red},
		source:   src,
		targets:  newTargetSet(cfg.Host, cfg.Fleet),
		log:      slog.New(red.Handler(cfg.Logger.Handler())),
		redactor: red,

		healthy:     map[string]int{},
		endpoints:   map[string][]string{},
		lastVerdict: map[string]string{},
		verified:    map[string]bool{},
		reverted:    map[string]bool{},
	}
	if cfg.Trust != nil && !cfg.Trust.ArtifactsUnverified {
		v, err := signing.NewVerifier(cfg.Trust)
		if err != nil {
			return nil, fmt.Errorf("trust file %s: %w", cfg.Trust.File, err)
		}
		r.verifier = v
	}
	if _, err := policy.Compile(ctx, policy.Options{}, cfg.HostPolicies); err != nil {
		return nil, fmt.Errorf("host policies (%s):\n%w", cfg.HostPolicies.Name, err)
	}
	revs, err := st.Revisions(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	for _, rev := range revs {
		if rev.Verdict != api.RevisionAccepted {
			continue
		}
		if err := r.adopt(ctx, rev); err != nil {
			return nil, err
		}
		r.inbox.handled = rev.Commit
		r.log.Info("resuming from journal", "revision", short(rev.Commit))
		break
	}
	return r, nil
}

// adopt makes an accepted revision, as journaled, the desired state.
func (r *Reconciler) adopt(ctx context.Context, rev journal.Revision) error {
	var ds schema.DesiredState
	if err := json.Unmarshal(rev.DesiredState, &ds); err != nil {
		return fmt.Errorf("journal: revision %s: desired state: %w", short(rev.Commit), err)
	}
	pol, err := r.restorePolicies(ctx, rev)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.desired, r.revision, r.policies = &ds, withoutState(rev), pol
	r.mu.Unlock()
	// The services' secrets are redacted from the start, before an
	// adapter's first error could show one; one that cannot be read now is
	// reported when a set needs it.
	for _, svc := range ds.Services {
		_, _, _ = r.readSecrets(svc)
	}
	return nil
}

// owns reports whether this reconciler converges service (Config.Owns).
func (r *Reconciler) owns(service string) bool {
	return r.cfg.Owns == nil || r.cfg.Owns(service)
}

// desiredState is the last accepted revision's desired state (nil before
// any).
func (r *Reconciler) desiredState() *schema.DesiredState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.desired
}

// background is the context of calls that may outlive a pass: Run's, or,
// outside Run (tests), one that ctx's end does not cancel.
func (r *Reconciler) background(ctx context.Context) context.Context {
	if r.bg != nil {
		return r.bg
	}
	return context.WithoutCancel(ctx)
}

// Trigger asks the source to fetch at once (a webhook calls it).
func (r *Reconciler) Trigger() { r.source.Trigger() }

// Branch is the branch the reconciler follows (a webhook's push to another
// triggers nothing).
func (r *Reconciler) Branch() string { return r.source.Branch() }

// Run watches the source and reconciles until ctx is done. A fetched
// revision is always taken before the next pass, and a pass stops at the
// next placement once a newer one waits (see pass).
func (r *Reconciler) Run(ctx context.Context) error {
	r.startWarnings(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.source.Watch(ctx, func(s source.Snapshot, err error) { r.inbox.put(snapshotResult{s, err}) })
	}()
	defer wg.Wait()
	defer r.targets.close()
	r.bg = ctx
	defer r.pending.wait() // before the adapters close

	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.inbox.wake():
		case <-timer.C:
		}
		full := r.work.fullDue(r.cfg.IdleInterval)
		if res, ok := r.inbox.take(); ok {
			r.handleSnapshot(ctx, res.snap, res.err)
			full = true
		} else if r.awaitVerdict(ctx) {
			full = true
		}
		active := false
		if full {
			active = r.pass(ctx)
		} else {
			active = r.busyPass(ctx)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		// A verdict awaited is asked for at the active pace.
		timer.Reset(r.work.next(active || r.awaiting != "", r.cfg.ActiveInterval, r.cfg.IdleInterval))
	}
}

// pass converges, each on the release its stage wants (see wantOf), the
// placements of the desired state that something dirtied (work.go): a
// revert to a warm set first, then stage by stage. It stops at the next
// placement once a newer revision waits, and reports whether a rollout is
// still in flight (or the pass was cut short).
func (r *Reconciler) pass(ctx context.Context) bool {
	ds, rev := r.prepare(ctx)
	if ds == nil {
		return false
	}
	r.targets.retain(ds)
	for _, err := range r.targets.sendFence(ctx, ds) {
		r.log.Warn("fencing token not delivered; the agent gets it with the first call", "err", err)
	}
	r.work.begin(r, ds, rev)
	// The targets are observed when the first clean placement is checked:
	// a revert and the services the revision changed go before.
	seen := r.lazyObservation(ctx, ds)
	seen.deferred = true
	done, active, err := r.revertsFirst(ctx, ds, rev, seen)
	if err != nil {
		r.log.Error("read journal", "err", err)
		return false
	}
	// The services the newest revision changed go first, unobserved, then
	// every service: a change is acted on without waiting behind the fleet.
	for _, names := range [][]string{r.work.changed(ds), sortedKeys(ds.Services)} {
		busy, cut, err := r.convergeAll(ctx, onePass{ds, rev, done, seen}, names)
		if err != nil {
			r.log.Error("read journal", "err", err)
			return false
		}
		if cut {
			return true // the rest is done on the new revision
		}
		active = active || busy
		seen.deferred = false
	}
	if err := r.collectOrphans(ctx, seen); err != nil {
		r.log.Error("collect orphans", "err", err)
	}
	if err := r.writeScrapeTargets(ctx); err != nil {
		r.log.Error("write Prometheus scrape targets", "file", r.cfg.ScrapeTargets, "err", err)
	}
	return active
}

// onePass is what a full pass works on: the desired state and its
// revision, the placements it converged already, and the observation.
type onePass struct {
	ds   *schema.DesiredState
	rev  journal.Revision
	done map[string]bool
	seen *observation
}

// convergeAll converges the named services' placements, stage by stage,
// but those done already this pass and the clean ones. It stops, cut, at
// the next placement once a newer revision waits; busy reports whether a
// rollout is still in flight.
func (r *Reconciler) convergeAll(ctx context.Context, ps onePass, names []string) (busy, cut bool, err error) {
	for i, stage := range ps.ds.Pipeline.Stages {
		for _, targetName := range stage.Targets {
			for _, name := range names {
				if r.inbox.newer() {
					return busy, true, nil
				}
				if !r.owns(name) {
					continue
				}
				p, ok, err := r.placementOf(ctx, ps.ds, ps.rev, position{name, i, targetName})
				if err != nil {
					return busy, false, err
				}
				if !ok || ps.done[p.key()] || r.work.clean(ctx, r, p, ps.seen) {
					continue
				}
				ps.done[p.key()] = true
				busy = r.step(ctx, p, ps.seen) || busy
			}
		}
	}
	return busy, false, nil
}

// placementOf is a service on a target of the i-th stage, on the release
// the stage wants; false when nothing was promoted to the stage yet.
func (r *Reconciler) placementOf(ctx context.Context, ds *schema.DesiredState, rev journal.Revision, at position) (placement, bool, error) {
	svc, release, ok, err := r.wanted(ctx, ds, at.service, at.stage, at.target)
	if err != nil || !ok {
		return placement{}, false, err
	}
	stage := ds.Pipeline.Stages[at.stage]
	return placement{service: svc, stage: stage.Name, target: ds.Targets[at.target], revision: rev.Commit, attempt: attemptOf(rev),
		hold: ds.Services[at.service].Hold, at: at, release: release}, true, nil
}

// position is where a placement is in the desired state: a service, the
// index of its stage in the pipeline, and a target of that stage.
type position struct {
	service string
	stage   int
	target  string
}

// prepare starts a pass of either kind: the trust file and the secrets read
// again if they changed, and the desired state to converge on (nil before
// any revision was accepted).
func (r *Reconciler) prepare(ctx context.Context) (*schema.DesiredState, journal.Revision) {
	r.reloadTrust(ctx)
	r.refreshSecrets(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.desired, r.revision
}

// lazyObservation observes the desired state's targets when first asked.
func (r *Reconciler) lazyObservation(ctx context.Context, ds *schema.DesiredState) *observation {
	seen := &observation{}
	seen.observe = func() { r.observe(ctx, ds, seen) }
	return seen
}

// busyPass converges, at the active pace between full passes, only the
// placements the last pass left in flight: a rollout's next step needs no
// look at the rest of the fleet, which a full pass sees every
// IdleInterval, when a revision arrives, and when one of them finishes.
func (r *Reconciler) busyPass(ctx context.Context) bool {
	ds, rev := r.prepare(ctx)
	if ds == nil {
		return false
	}
	seen := r.lazyObservation(ctx, ds)
	active := false
	for _, at := range r.work.inFlight() {
		if r.inbox.newer() {
			return true
		}
		p, ok, err := r.placementOf(ctx, ds, rev, at)
		if err != nil {
			r.log.Error("read journal", "err", err)
			return false
		}
		if !ok {
			r.work.finish(p.key())
			continue
		}
		active = r.step(ctx, p, seen) || active
	}
	if err := r.writeScrapeTargets(ctx); err != nil {
		r.log.Error("write Prometheus scrape targets", "file", r.cfg.ScrapeTargets, "err", err)
	}
	return active
}

// step converges one placement and marks it clean when converging found
// nothing to do; it reports whether a rollout is still in flight there.
func (r *Reconciler) step(ctx context.Context, p placement, seen *observation) bool {
	busy := r.converged(ctx, p, seen)
	if busy {
		r.work.start(p)
	} else {
		r.work.finish(p.key())
	}
	return busy
}

// converged is step's converge, marking the placement clean.
func (r *Reconciler) converged(ctx context.Context, p placement, seen *observation) bool {
	before := r.acts.Load()
	ro, busy, err := r.convergeRollout(ctx, p)
	if errors.Is(err, errDenied) {
		r.failing.notePlacement(p.key(), nil)
		return false // journaled; asked again next pass
	}
	r.failing.notePlacement(p.key(), err)
	r.reach.note(p.target.Name, err, time.Now().UTC())
	if err != nil {
		// Retried on the next pass, at the idle pace: an error that lasts
		// (a router down) must not flood the log.
		r.log.Error("converge", "service", p.service.Name, "stage", p.stage, "target", p.target.Name, "err", err)
		return false
	}
	if !busy && r.acts.Load() == before {
		r.work.markClean(ctx, ro, seen)
	}
	return busy
}
