package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/hangtest"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/source"
)

// failure is how a faked dependency fails: down (err), every call fails at
// once; hung (err nil), every call waits for its context to end, which only
// the reconciler's bound can end. hit is closed on the first call, ended
// once a hung call saw its context end.
type failure struct {
	err        error
	hit, ended chan struct{}
	once       [2]sync.Once
}

func newFailure(down error) *failure {
	return &failure{err: down, hit: make(chan struct{}), ended: make(chan struct{})}
}

// meet is one call to the dependency.
func (fl *failure) meet(ctx context.Context) error {
	fl.once[0].Do(func() { close(fl.hit) })
	if fl.err != nil {
		return fl.err
	}
	<-ctx.Done()
	fl.once[1].Do(func() { close(fl.ended) })
	return fmt.Errorf("fake: no answer: %w", ctx.Err())
}

// faultyRuntime is the fleet's runtime with its listing failing, or the
// Ensure of the sets whose id starts with ensureOf.
type faultyRuntime struct {
	*recordingRuntime
	ensureOf string
	listing  bool
	fl       *failure
}

func (f faultyRuntime) Ensure(ctx context.Context, spec adapters.InfraSetSpec) (adapters.InfraSetStatus, error) {
	if f.ensureOf != "" && strings.HasPrefix(spec.ID, f.ensureOf) {
		return adapters.InfraSetStatus{ID: spec.ID}, f.fl.meet(ctx)
	}
	return f.recordingRuntime.Ensure(ctx, spec)
}

func (f faultyRuntime) Observe(ctx context.Context) ([]adapters.InfraSetStatus, error) {
	if f.listing {
		return nil, f.fl.meet(ctx)
	}
	return f.recordingRuntime.Observe(ctx)
}

// faultyTraffic is a traffic adapter (one that lists its splits, as the
// router's does) every call of which fails.
type faultyTraffic struct{ fl *failure }

func (d faultyTraffic) SetSplit(ctx context.Context, _ adapters.Split) error { return d.fl.meet(ctx) }
func (d faultyTraffic) Split(ctx context.Context, _ string) (adapters.Split, error) {
	return adapters.Split{}, d.fl.meet(ctx)
}
func (d faultyTraffic) Splits(ctx context.Context) ([]adapters.Split, error) {
	return nil, d.fl.meet(ctx)
}
func (d faultyTraffic) InFlight(ctx context.Context, _, _ string) (int, error) {
	return 0, d.fl.meet(ctx)
}

// faultyCounts is the fleet's traffic adapter as a health source: its
// per-set counters fail once fl is set.
type faultyCounts struct {
	*countingTraffic
	fl *failure
}

func (c *faultyCounts) SetMetrics(ctx context.Context, service, set string) (adapters.SetMetrics, error) {
	if c.fl != nil {
		return adapters.SetMetrics{}, c.fl.meet(ctx)
	}
	return c.countingTraffic.SetMetrics(ctx, service, set)
}

// withWarmSet is a fleet of the services first, then moved to then: svc-0's
// first release stays warm, in the set it returns.
func withWarmSet(ctx context.Context, t *testing.T, first, then string) (*fleetHarness, string) {
	f := newFleetHarness(t)
	f.revision("c1", first)
	f.settle(ctx)
	warm := f.set("svc-0")
	f.revision("c2", then)
	f.settle(ctx)
	return f, warm
}

// tune changes a service of the desired state in what its release does not
// hold (its strategy), so its sets keep their ids.
func (f *fleetHarness) tune(service string, change func(*schema.Service)) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	svc := f.r.desired.Services[service]
	change(&svc)
	f.r.desired.Services[service] = svc
}

// atCanaryStep moves svc-1 to release b as a canary of one step, analysed
// by the Prometheus at prom when given, and takes it to that step; the
// traffic adapter is a health source whose counters it returns. It returns
// what makes the next revision keep svc-1 a canary.
func atCanaryStep(ctx context.Context, t *testing.T, f *fleetHarness, prom string) (*faultyCounts, func()) {
	counts := &faultyCounts{countingTraffic: &countingTraffic{fakeTraffic: f.tr.fakeTraffic, counters: map[string]adapters.SetMetrics{}}}
	f.r.targets.traffics[adapterKey(f.target, f.target.Traffic)] = counts
	serving := f.set("svc-1")
	keep := func() {
		f.tune("svc-1", func(svc *schema.Service) {
			an := &schema.Analysis{MaxErrorRate: 0.05, MinRequests: 5}
			if prom != "" {
				an.Prometheus = &schema.PrometheusAnalysis{Address: prom, Queries: promFaultQueries}
			}
			svc.Strategy.Kind, svc.Strategy.Analysis = schema.Canary, an
			svc.Strategy.Steps = []schema.CanaryStep{{Weight: 10, Bake: schema.Bake{Requests: 1000}}}
		})
	}
	f.revision("c3", "bb")
	keep()
	f.r.pass(ctx) // creates b's set
	f.r.pass(ctx) // gives it its step
	if split, _ := f.tr.Split(ctx, "svc-1"); split.Weight(f.set("svc-1")) != 10 {
		t.Fatalf("svc-1's canary is not at its step: %+v", split)
	}
	counts.serve(serving, 10, 0)
	counts.serve(f.set("svc-1"), 10, 0)
	return counts, keep
}

// faultCase is one dependency the reconciler reaches through an adapter.
type faultCase struct {
	name string
	// down is the error the real adapter gives when the dependency is down.
	down error
	// meet brings the fleet to where its next pass meets the dependency,
	// failing as fl says; keep is what the revert's revision keeps of it.
	meet func(ctx context.Context, t *testing.T, f *fleetHarness, fl *failure) (keep func())
	// revert is the revert's services: svc-0 back to its warm release a.
	revert string
	// named checks that status names the dependency: met is the status
	// after the pass that met it, reverted after the revert's pass.
	named func(t *testing.T, met, reverted api.Status, fl *failure)
	// heal makes a traffic adapter answer again: the revert, which cannot
	// switch without it, completes on the pass after. nil: the revert
	// needs nothing of the dependency.
	heal func(f *fleetHarness)
}

// faultCases are the dependencies behind the reconciler's adapters. An
// exec plug-in's runtime and traffic are adapters.Runtime and
// adapters.Traffic like any other at this level: the runtime and traffic
// cases are theirs too (adapters/exec's tests hold the plug-in's timeout).
// Instances' health is what the runtime's Ensure reports; the health
// source apart from it is the traffic adapter's per-set counters.
var faultCases = []faultCase{{
	name: "runtime Ensure (registry pull)",
	down: fmt.Errorf(`registry r: Get "https://r/v2/": dial tcp 127.0.0.1:9: connect: connection refused: %w`, adapters.ErrUnavailable),
	meet: func(_ context.Context, _ *testing.T, f *fleetHarness, fl *failure) func() {
		f.revision("c3", "ca") // svc-0's new release c needs a new set
		// The pull is bounded by the service's progress deadline.
		f.tune("svc-0", func(svc *schema.Service) { svc.Strategy.ProgressDeadline.Duration = faultBound })
		f.r.targets.runtimes[adapterKey(f.target, f.target.Runtime)] = faultyRuntime{recordingRuntime: f.rt, ensureOf: f.set("svc-0"), fl: fl}
		return nil
	},
	revert: "aa",
	named:  wantEnsureShown,
}, {
	name: "runtime listing (Docker engine)",
	down: fmt.Errorf("docker: engine unix:///var/run/docker.sock is unreachable or not answering: connect: connection refused: %w", adapters.ErrUnavailable),
	meet: func(_ context.Context, _ *testing.T, f *fleetHarness, fl *failure) func() {
		f.r.targets.runtimes[adapterKey(f.target, f.target.Runtime)] = faultyRuntime{recordingRuntime: f.rt, listing: true, fl: fl}
		return nil
	},
	revert: "aa",
	named:  wantDependency("target t runtime fake"),
}, {
	name: "health source (traffic adapter's counters)",
	down: fmt.Errorf("router admin API 127.0.0.1:9: connection refused: %w", adapters.ErrUnavailable),
	meet: func(ctx context.Context, t *testing.T, f *fleetHarness, fl *failure) func() {
		counts, keep := atCanaryStep(ctx, t, f, "")
		counts.fl = fl
		return keep
	},
	revert: "ab",
	named:  wantDependency("target t traffic fake"),
}, {
	name: "Prometheus (canary analysis)",
	down: errors.New("connection refused"), // what the down address gives: nothing listens
	meet: func(ctx context.Context, t *testing.T, f *fleetHarness, fl *failure) func() {
		_, keep := atCanaryStep(ctx, t, f, prometheusFailing(t, fl))
		return keep
	},
	revert: "ab",
	named:  wantDependency("prometheus "),
}, {
	name: "traffic (router admin, HAProxy)",
	down: fmt.Errorf("router admin API unix:///run/durable/router.sock: connect: connection refused: %w", adapters.ErrUnavailable),
	meet: func(_ context.Context, _ *testing.T, f *fleetHarness, fl *failure) func() {
		f.r.targets.traffics[adapterKey(f.target, f.target.Traffic)] = faultyTraffic{fl}
		return nil
	},
	revert: "aa",
	named:  wantDependency("target t traffic fake"),
	heal:   func(f *fleetHarness) { f.r.targets.traffics[adapterKey(f.target, f.target.Traffic)] = f.tr },
}}

// prometheusFailing is the address of a Prometheus down (nothing listens)
// or hung (it accepts and answers no query until the client gives up).
func prometheusFailing(t *testing.T, fl *failure) string {
	if fl.err != nil {
		return "http://" + hangtest.FakeDownTCP(t)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm() // a request's context ends with its connection once its body is read
		_ = fl.meet(r.Context())
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestRevertUnderEachDependencyFault: for each dependency, down and hung,
// met by a pass when the revert of svc-0 to its warm set is committed:
// what runs keeps serving (every set, every split); the revert switches
// within 1 s of the commit being seen, or, when the traffic adapter is what
// fails, once it answers again; a hung call ends with its context, which
// only the reconciler's bound ends; every intent journaled has its
// outcome; and status names the dependency. With the Git remote down or
// hung, nothing running is touched and status says the source is
// unreachable. It folds in the tests of a hung Ensure and a hung listing
// that were pending_test.go's.
func TestRevertUnderEachDependencyFault(t *testing.T) {
	// Bounds longer than the 1 s a revert has, shorter than production's:
	// a revert held behind one fails its case.
	shorten(t, &observeTimeout, faultBound) // 5 s in production
	shorten(t, &promTimeout, faultBound)
	shorten(t, &trafficTimeout, faultBound)
	for _, c := range faultCases {
		for _, mode := range []string{"down", "hung"} {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				var fl *failure
				if mode == "down" {
					fl = newFailure(c.down)
				} else {
					fl = newFailure(nil)
				}
				revertUnder(t, c, fl)
			})
		}
	}
	// The Git remote is no adapter: the loop is handed the fetch's error,
	// at once when it is down, at the fetch's bound when it hangs (shown in
	// source/fetch_fault_test.go); the revert is not seen until it answers.
	for mode, err := range map[string]error{
		"down": errors.New("fetch origin: dial tcp 127.0.0.1:9: connect: connection refused"),
		"hung": fmt.Errorf("fetch origin: no answer within 2m0s: %w", context.DeadlineExceeded),
	} {
		t.Run("source (Git remote)/"+mode, func(t *testing.T) { sourceUnreachable(t, err) })
	}
}

// sourceUnreachable: with the repository unreachable, a pass touches
// nothing running, and status says the source is unreachable, with its
// error, and what still runs.
func sourceUnreachable(t *testing.T, fetchErr error) {
	ctx := context.Background()
	f, _ := withWarmSet(ctx, t, "aa", "ba")
	f.r.pass(ctx)
	running := fleetAt(ctx, f)
	f.r.inbox.put(snapshotResult{err: fetchErr}) // as Run hands it over
	res, _ := f.r.inbox.take()
	f.r.handleSnapshot(ctx, res.snap, res.err)
	acts := f.r.acts.Load()
	f.r.pass(ctx)
	if n := f.r.acts.Load() - acts; n != 0 {
		t.Errorf("the pass took %d action(s) with the source unreachable; want none", n)
	}
	running.wantServing(ctx, t, f, "")
	s := mustStatus(ctx, t, f)
	if s.Source.Error != fetchErr.Error() || s.Ready.Reason != api.ReasonSourceUnreachable || !strings.Contains(s.Ready.Message, "still running c2") {
		t.Errorf("status says source %+v, ready %+v; want the fetch's error, SourceUnreachable, still running c2", s.Source, s.Ready)
	}
	wantEveryIntentAnswered(ctx, t, f)
}

// revertUnder runs one case of TestRevertUnderEachDependencyFault.
func revertUnder(t *testing.T, c faultCase, fl *failure) {
	ctx := context.Background()
	f, warm := withWarmSet(ctx, t, "aa", "ba")
	f.r.pass(ctx) // marks the fleet clean: the next pass observes it
	keep := c.meet(ctx, t, f, fl)
	running := fleetAt(ctx, f)
	seen := commitWhileMet(ctx, t, f, fl)
	running.wantServing(ctx, t, f, "")
	met := mustStatus(ctx, t, f)
	f.r.inbox.take()
	f.revision("c4", c.revert)
	if keep != nil {
		keep()
	}
	if c.heal != nil {
		f.r.pass(ctx)
		running.wantServing(ctx, t, f, "") // nothing switched, nothing removed
		reverted := mustStatus(ctx, t, f)
		c.named(t, met, reverted, fl)
		c.heal(f)
		f.r.pass(ctx)
		if split, err := f.tr.Split(ctx, "svc-0"); err != nil || split.Weight(warm) != 100 {
			t.Fatalf("once the traffic adapter answers, the revert's pass leaves %+v (%v); want all on %s", split, err, warm)
		}
	} else {
		revertWithin(ctx, t, f, warm, seen)
		running.wantServing(ctx, t, f, "svc-0")
		c.named(t, met, mustStatus(ctx, t, f), fl)
	}
	if fl.err == nil {
		select {
		case <-fl.ended:
		case <-time.After(10 * time.Second):
			t.Fatal("the hung call never saw its context end: nothing bounds it")
		}
	}
	f.r.pending.wait()
	wantEveryIntentAnswered(ctx, t, f)
}

// commitWhileMet runs a pass until it meets the dependency (or ends), then
// has the revert's commit arrive, and returns when it was seen. The pass
// must end at once, whatever the dependency does.
func commitWhileMet(ctx context.Context, t *testing.T, f *fleetHarness, fl *failure) time.Time {
	passed := make(chan struct{})
	go func() { f.r.pass(ctx); close(passed) }()
	select {
	case <-fl.hit:
	case <-passed:
	}
	if fl.err != nil {
		// A dependency that is down answers at once: the revision comes
		// once the pass has taken that answer, as one committed a moment
		// later would (otherwise it may come between the answer and the
		// pass taking it, and the pass rightly leaves it for the next).
		deadline := time.Now().Add(5 * time.Second)
		for !failureNoted(f) && time.Now().Before(deadline) {
			select {
			case <-passed:
				deadline = time.Now()
			case <-time.After(time.Millisecond):
			}
		}
	}
	seen := time.Now()
	f.r.inbox.put(snapshotResult{snap: source.Snapshot{Commit: "c4"}})
	select {
	case <-passed:
	case <-time.After(5 * time.Second):
		t.Fatal("the pass stayed with the failing dependency after a newer revision arrived")
	}
	return seen
}

// failureNoted reports whether the reconciler has noted a failing
// dependency or placement.
func failureNoted(f *fleetHarness) bool {
	f.r.failing.mu.Lock()
	defer f.r.failing.mu.Unlock()
	return len(f.r.failing.deps)+len(f.r.failing.placements) > 0
}

// revertWithin runs the revert's pass and fails unless it switches svc-0
// to its warm set within 1 s of the commit being seen; the pass itself
// ends within the bounds of what it meets after.
func revertWithin(ctx context.Context, t *testing.T, f *fleetHarness, warm string, seen time.Time) {
	t.Helper()
	passed := make(chan struct{})
	go func() { f.r.pass(ctx); close(passed) }()
	for {
		split, err := f.tr.Split(ctx, "svc-0")
		if err == nil && split.Weight(warm) == 100 {
			break
		}
		if time.Since(seen) > 5*time.Second {
			t.Fatalf("the revert did not switch the traffic: %+v (%v)", split, err)
		}
		time.Sleep(time.Millisecond)
	}
	if took := time.Since(seen); took > time.Second {
		t.Fatalf("the revert took %s from the commit being seen; want under 1s", took)
	}
	select {
	case <-passed:
	case <-time.After(5 * faultBound):
		t.Fatal("the revert's pass did not end within the bounds of its calls")
	}
}

// fleet is what runs and serves: each service's split, and the sets the
// runtime runs.
type fleet struct {
	splits map[string]adapters.Split
	sets   []string
}

func fleetAt(ctx context.Context, f *fleetHarness) fleet {
	at := fleet{splits: map[string]adapters.Split{}}
	for name := range f.r.desiredState().Services {
		at.splits[name], _ = f.tr.fakeTraffic.Split(ctx, name)
	}
	f.rt.mu.Lock()
	defer f.rt.mu.Unlock()
	for id := range f.rt.sets {
		at.sets = append(at.sets, id)
	}
	return at
}

// wantServing fails unless every set still runs and every split but
// reverted's is as it was.
func (at fleet) wantServing(ctx context.Context, t *testing.T, f *fleetHarness, reverted string) {
	t.Helper()
	for _, id := range at.sets {
		if f.rt.count(id) == 0 {
			t.Errorf("set %s no longer runs", id)
		}
	}
	for name, was := range at.splits {
		if have, err := f.tr.fakeTraffic.Split(ctx, name); name != reverted && (err != nil || !sameSplit(was, have)) {
			t.Errorf("%s's split is %+v (%v); it was %+v", name, have, err, was)
		}
	}
}

func mustStatus(ctx context.Context, t *testing.T, f *fleetHarness) api.Status {
	t.Helper()
	s, err := f.r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wantDependency checks that status names dependency (a prefix) as
// failing, with the down error or, hung, the bound's.
func wantDependency(dependency string) func(*testing.T, api.Status, api.Status, *failure) {
	return func(t *testing.T, _, reverted api.Status, fl *failure) {
		t.Helper()
		text := "deadline exceeded"
		if fl.err != nil {
			text = "connection refused"
		}
		if len(reverted.Failing) != 1 || !strings.HasPrefix(reverted.Failing[0].Dependency, dependency) {
			t.Fatalf("status says failing %+v; want %s", reverted.Failing, dependency)
		}
		wantFailing(t, reverted, reverted.Failing[0].Dependency, text)
	}
}

// wantEnsureShown checks what status shows, after the pass that met it, of
// the Ensure of a new set: down, svc-0's placement error names the
// registry; hung, the placement shows its rollout creating and no error:
// the registry is named only when the call ends, at the progress deadline,
// in the failed rollout's message (journal: "create-set under way").
func wantEnsureShown(t *testing.T, met, _ api.Status, fl *failure) {
	t.Helper()
	pl := met.Services[0].Placements[0]
	switch {
	case met.Services[0].Name != "svc-0":
		t.Fatalf("status lists %s first; want svc-0", met.Services[0].Name)
	case fl.err != nil && (pl.Error == nil || !strings.Contains(pl.Error.Error, "connection refused")):
		t.Errorf("svc-0's placement shows the error %+v; want the registry's", pl.Error)
	case fl.err == nil && (pl.Error != nil || pl.Rollout == nil || pl.Rollout.Phase != api.RolloutCreating):
		t.Errorf("svc-0's placement shows the error %+v, the rollout %+v; want none, and its rollout creating", pl.Error, pl.Rollout)
	}
}

// wantEveryIntentAnswered fails for each intent of the journal without an
// outcome.
func wantEveryIntentAnswered(ctx context.Context, t *testing.T, f *fleetHarness) {
	t.Helper()
	entries, err := f.st.Entries(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	answered := map[uint64]bool{}
	for _, e := range entries {
		if e.Kind == api.EntryOutcome {
			answered[e.Intent] = true
		}
	}
	for _, e := range entries {
		if e.Kind == api.EntryIntent && !answered[e.Seq] {
			t.Errorf("intent %d (%s %s) has no outcome", e.Seq, e.Action, e.Set)
		}
	}
}

// faultBound is what TestRevertUnderEachDependencyFault shortens the
// reconciler's bounds to.
const faultBound = 1500 * time.Millisecond

// shorten sets a bound to d for the test.
func shorten(t *testing.T, bound *time.Duration, d time.Duration) {
	saved := *bound
	*bound = d
	t.Cleanup(func() { *bound = saved })
}

// splitByService is a traffic adapter that cannot list its splits (asked
// service by service, as an exec plug-in without a listing is) and whose
// every call fails as fl says.
type splitByService struct{ fl *failure }

func (d splitByService) SetSplit(ctx context.Context, _ adapters.Split) error { return d.fl.meet(ctx) }
func (d splitByService) Split(ctx context.Context, _ string) (adapters.Split, error) {
	return adapters.Split{}, d.fl.meet(ctx)
}
func (d splitByService) InFlight(ctx context.Context, _, _ string) (int, error) {
	return 0, d.fl.meet(ctx)
}

// TestSplitReadEndsWithANewerRevision: a pass reading a clean placement's
// split from a hung traffic adapter that cannot list (the read every
// placement on another target makes while a revert is committed) ends
// when the newer revision arrives, not at the adapter's bound (a minute
// here): the revert's pass comes next at once.
func TestSplitReadEndsWithANewerRevision(t *testing.T) {
	ctx := context.Background()
	shorten(t, &trafficTimeout, time.Minute)
	f, _ := withWarmSet(ctx, t, "aa", "ba")
	f.r.pass(ctx) // marks the fleet clean: the next pass reads each split
	fl := newFailure(nil)
	f.r.targets.traffics[adapterKey(f.target, f.target.Traffic)] = splitByService{fl}
	passed := make(chan struct{})
	go func() { f.r.pass(ctx); close(passed) }()
	<-fl.hit
	f.r.inbox.put(snapshotResult{snap: source.Snapshot{Commit: "c3"}})
	select {
	case <-passed:
	case <-time.After(30 * time.Second):
		t.Fatal("the pass stayed in a hung split read after a newer revision arrived: a revert would wait for the traffic adapter's bound")
	}
	<-fl.ended
	f.r.inbox.take()
	f.r.pending.wait()
}
