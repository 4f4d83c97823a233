package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/source"
)

// recordingRuntime is the harness's runtime, recording which sets it was
// asked to ensure, in order; onEnsure, when set, runs before each.
type recordingRuntime struct {
	*fakeRuntime
	mu       sync.Mutex
	ensured  []string
	onEnsure func(id string)
	observes atomic.Int64
}

func (r *recordingRuntime) Observe(ctx context.Context) ([]adapters.InfraSetStatus, error) {
	r.observes.Add(1)
	return r.fakeRuntime.Observe(ctx)
}

func (r *recordingRuntime) Ensure(ctx context.Context, spec adapters.InfraSetSpec) (adapters.InfraSetStatus, error) {
	r.mu.Lock()
	r.ensured = append(r.ensured, spec.ID)
	hook := r.onEnsure
	r.mu.Unlock()
	if hook != nil {
		hook(spec.ID)
	}
	return r.fakeRuntime.Ensure(ctx, spec)
}

// calls returns and forgets the sets ensured so far.
func (r *recordingRuntime) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ensured
	r.ensured = nil
	return out
}

// recordingTraffic is the harness's traffic adapter, recording the
// services whose split was set, in order.
type recordingTraffic struct {
	*fakeTraffic
	mu  sync.Mutex
	set []string
}

func (r *recordingTraffic) SetSplit(ctx context.Context, split adapters.Split) error {
	r.mu.Lock()
	r.set = append(r.set, split.Service)
	r.mu.Unlock()
	return r.fakeTraffic.SetSplit(ctx, split)
}

func (r *recordingTraffic) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.set
	r.set = nil
	return out
}

// fleetHarness is the harness with several services on its target, each
// blue/green with one set kept warm with all its instances.
type fleetHarness struct {
	*harness
	rt *recordingRuntime
	tr *recordingTraffic
}

// listingTraffic is recordingTraffic that also lists every split in one
// call (adapters.SplitLister), as the exec and router adapters do; it
// counts both reads.
type listingTraffic struct {
	*recordingTraffic
	reads *atomic.Int64 // Split calls
	lists *atomic.Int64 // Splits calls
}

func (l listingTraffic) Split(ctx context.Context, service string) (adapters.Split, error) {
	l.reads.Add(1)
	return l.recordingTraffic.Split(ctx, service)
}

func (l listingTraffic) Splits(context.Context) ([]adapters.Split, error) {
	l.lists.Add(1)
	l.fakeTraffic.mu.Lock()
	defer l.fakeTraffic.mu.Unlock()
	out := []adapters.Split{}
	for _, split := range l.fakeTraffic.splits {
		split.Backends = slices.Clone(split.Backends)
		out = append(out, split)
	}
	return out, nil
}

// listSplits makes the fleet's traffic adapter list its splits.
func (f *fleetHarness) listSplits() listingTraffic {
	l := listingTraffic{f.tr, &atomic.Int64{}, &atomic.Int64{}}
	f.r.targets.traffics[adapterKey(f.target, f.target.Traffic)] = l
	return l
}

func newFleetHarness(t *testing.T) *fleetHarness {
	h := newHarness(t)
	f := &fleetHarness{harness: h, rt: &recordingRuntime{fakeRuntime: h.rt}, tr: &recordingTraffic{fakeTraffic: h.tr}}
	h.r.targets.runtimes[adapterKey(h.target, h.target.Runtime)] = f.rt
	h.r.targets.traffics[adapterKey(h.target, h.target.Traffic)] = f.tr
	return f
}

// revision makes the desired state revision commit with one service per
// digit (svc-0 at digits[0], ...), each digit its artifact, journaled with
// its releases (status lists its services).
func (f *fleetHarness) revision(commit, digits string) {
	ds := &schema.DesiredState{Services: map[string]schema.Service{}, Targets: map[string]schema.Target{"t": f.target},
		Pipeline: schema.Pipeline{Stages: []schema.Stage{{Name: "s", Targets: []string{"t"}}}}}
	for i, d := range digits {
		name := fmt.Sprintf("svc-%d", i)
		svc := schema.Service{Name: name, Artifact: "r/" + name + "@sha256:" + strings.Repeat(string(d), 64),
			Run:      schema.Run{Port: 8080, Replicas: 2},
			Strategy: schema.Strategy{Kind: schema.BlueGreen, KeepWarm: 1, WarmMode: schema.WarmFull, ProgressDeadline: schema.Duration{Duration: time.Minute}}}
		spec, err := json.Marshal(svc)
		if err != nil {
			f.t.Fatal(err)
		}
		if err := f.st.PutRelease(context.Background(), journal.Release{ID: svc.ReleaseID(), Service: name, Artifact: svc.Artifact, Spec: spec}); err != nil {
			f.t.Fatal(err)
		}
		ds.Services[name] = svc
	}
	state, err := json.Marshal(ds)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.PutRevision(context.Background(), journal.Revision{Commit: commit, SeenAt: time.Now().UTC(), Verdict: api.RevisionAccepted, DesiredState: state}); err != nil {
		f.t.Fatal(err)
	}
	f.r.mu.Lock()
	f.r.desired, f.r.revision = ds, journal.Revision{Commit: commit, Attempt: commit}
	f.r.mu.Unlock()
}

func (f *fleetHarness) set(service string) string {
	return infraSetID(service, "t", f.r.desired.Services[service].ReleaseID())
}

// settle runs passes until one finds nothing in flight.
func (f *fleetHarness) settle(ctx context.Context) {
	f.t.Helper()
	for range 10 {
		if !f.r.pass(ctx) {
			return
		}
	}
	f.t.Fatal("the fleet never settled")
}

func TestNewRevisionPreemptsThePass(t *testing.T) {
	ctx := context.Background()
	f := newFleetHarness(t)
	f.revision("c1", "abcdef")
	f.rt.onEnsure = func(id string) {
		if strings.HasPrefix(id, "svc-1-") {
			f.r.inbox.put(snapshotResult{snap: source.Snapshot{Commit: "c2"}})
		}
	}
	if !f.r.pass(ctx) {
		t.Fatal("a pass cut short by a new revision must ask for the next one at once")
	}
	for i := range 6 {
		name := fmt.Sprintf("svc-%d", i)
		if started := f.rt.count(f.set(name)) > 0; started != (i <= 1) {
			t.Errorf("%s started: %v; the pass must stop at the first placement after the new revision arrived", name, started)
		}
	}
	if res, ok := f.r.inbox.take(); !ok || res.snap.Commit != "c2" {
		t.Fatalf("the waiting revision: %+v, %v", res, ok)
	}

	// Fetching the same commit again is no news: the pass is not cut.
	f.rt.onEnsure = func(string) { f.r.inbox.put(snapshotResult{snap: source.Snapshot{Commit: "c2"}}) }
	f.r.pass(ctx)
	for i := range 6 {
		if name := fmt.Sprintf("svc-%d", i); f.rt.count(f.set(name)) == 0 {
			t.Errorf("%s not started: a fetch of the commit already taken cut the pass", name)
		}
	}
}

// settledListingFleet is six services, settled and clean, on a traffic
// adapter that lists its splits.
func settledListingFleet(t *testing.T) (*fleetHarness, listingTraffic) {
	ctx := context.Background()
	f := newFleetHarness(t)
	l := f.listSplits()
	f.revision("c1", "abcdef")
	f.settle(ctx)
	f.r.pass(ctx)
	return f, l
}

// TestCleanPassListsEachTargetsSplitsOnce: where the traffic adapter lists
// its splits, a pass over clean placements reads the target's traffic in
// one call, not one per service, and still repairs a split changed by hand.
func TestCleanPassListsEachTargetsSplitsOnce(t *testing.T) {
	ctx := context.Background()
	f, l := settledListingFleet(t)
	l.reads.Store(0)
	l.lists.Store(0)
	f.r.pass(ctx)
	if reads, lists := l.reads.Load(), l.lists.Load(); reads != 0 || lists != 1 {
		t.Fatalf("a pass over 6 clean placements read %d split(s) one by one and listed %d time(s); want 0 and 1", reads, lists)
	}
	split, _ := f.tr.fakeTraffic.Split(ctx, "svc-2")
	split.Backends[0].Weight = 0
	_ = f.tr.fakeTraffic.SetSplit(ctx, split)
	f.tr.calls()
	f.r.pass(ctx)
	if got := f.tr.calls(); !slices.Equal(got, []string{"svc-2"}) {
		t.Fatalf("after svc-2's split was changed by hand, the pass set the splits of %v; want svc-2's", got)
	}
}

func TestRevertToWarmSetGoesFirst(t *testing.T) {
	ctx := context.Background()
	f := newFleetHarness(t)
	f.revision("c1", "aaaa")
	f.settle(ctx)
	f.revision("c2", "aaab")
	f.settle(ctx)
	// svc-3 goes back to its warm release; the others move on.
	f.revision("c3", "bbba")
	f.rt.calls()
	f.tr.calls()
	f.r.pass(ctx)
	if got := f.rt.calls(); len(got) == 0 || !strings.HasPrefix(got[0], "svc-3-") {
		t.Fatalf("sets ensured in the order %v: the revert of svc-3 must come first", got)
	}
	if got := f.tr.calls(); len(got) == 0 || got[0] != "svc-3" {
		t.Fatalf("traffic set in the order %v: the revert of svc-3 must come first", got)
	}
	if w := f.tr.weight3(f.set("svc-3")); w != 100 {
		t.Fatalf("svc-3's warm set has %d%% after the pass", w)
	}
}

func (f *recordingTraffic) weight3(set string) int {
	s, _ := f.Split(context.Background(), "svc-3")
	return s.Weight(set)
}

func TestCleanPlacementsAreNotConvergedAgain(t *testing.T) {
	ctx := context.Background()
	f := newFleetHarness(t)
	f.revision("c1", "abc")
	f.settle(ctx)
	f.r.pass(ctx) // converged with nothing to do: clean
	f.rt.calls()
	f.tr.calls()

	f.r.pass(ctx)
	if got := f.rt.calls(); len(got) != 0 {
		t.Fatalf("a pass with nothing changed ensured %v", got)
	}

	// A split changed by hand is seen and restored, for its service only.
	split, _ := f.tr.Split(ctx, "svc-1")
	split.Backends[0].Weight = 50
	_ = f.tr.fakeTraffic.SetSplit(ctx, split)
	f.r.pass(ctx)
	if got := f.tr.calls(); !slices.Equal(got, []string{"svc-1"}) {
		t.Fatalf("after drift on svc-1, splits set for %v", got)
	}
	if got := f.rt.calls(); !slices.Equal(got, []string{f.set("svc-1")}) {
		t.Fatalf("after drift on svc-1, ensured %v", got)
	}
	f.r.pass(ctx) // a placement acted on is converged once more, then clean
	if got := f.rt.calls(); !slices.Equal(got, []string{f.set("svc-1")}) {
		t.Fatalf("the pass after the repair ensured %v", got)
	}

	// A dead instance is seen and replaced.
	f.rt.fakeRuntime.mu.Lock()
	f.rt.fakeRuntime.sets[f.set("svc-2")] = f.rt.fakeRuntime.sets[f.set("svc-2")][:1]
	f.rt.fakeRuntime.mu.Unlock()
	f.r.pass(ctx)
	if got := f.rt.calls(); !slices.Equal(got, []string{f.set("svc-2")}) {
		t.Fatalf("after an instance of svc-2 died, ensured %v", got)
	}
	if n := f.rt.count(f.set("svc-2")); n != 2 {
		t.Fatalf("svc-2 runs %d instances", n)
	}
	f.settle(ctx)
	f.r.pass(ctx)
	f.rt.calls()

	// A revision that changes svc-0 converges svc-0 alone.
	f.revision("c2", "xbc")
	f.settle(ctx)
	for _, id := range f.rt.calls() {
		if !strings.HasPrefix(id, "svc-0-") {
			t.Fatalf("a revision that changed svc-0 alone ensured %s", id)
		}
	}

	// The resync converges everything again, each placement within the
	// resync interval of when it was marked clean, spread over the second
	// half of it.
	f.r.pass(ctx)
	f.rt.calls()
	marked := time.Now()
	resync := f.r.cfg.ResyncInterval
	untils := map[time.Time]bool{}
	for key, c := range f.r.work.keys {
		if c.until.Before(marked.Add(-time.Minute).Add(resync/2)) || c.until.After(marked.Add(resync)) {
			t.Fatalf("%q is clean until %s, not within %s to %s of %s", key, c.until, resync/2, resync, marked)
		}
		untils[c.until] = true
	}
	if len(untils) < 2 {
		t.Fatalf("the resync is not spread: %d placements clean, until %v", len(f.r.work.keys), untils)
	}
	for key, c := range f.r.work.keys {
		c.until = marked // as if the interval had passed
		f.r.work.keys[key] = c
	}
	f.r.pass(ctx)
	if got := f.rt.calls(); len(got) < len(untils) {
		t.Fatalf("the resync ensured only %v", got)
	}
}

// TestChangedServicesGoFirst: a revision that changes one service while
// the others' rollouts wait in the pass gets that service's first action
// before theirs, so a change is acted on without waiting behind the fleet.
func TestChangedServicesGoFirst(t *testing.T) {
	ctx := context.Background()
	f := newFleetHarness(t)
	f.revision("c1", "aaaaa")
	f.settle(ctx)
	// c2 moves svc-0..svc-3; its pass is cut at its first action by c3,
	// which also moves svc-4.
	f.revision("c2", "bbbba")
	f.rt.onEnsure = func(string) { f.r.inbox.put(snapshotResult{snap: source.Snapshot{Commit: "c3"}}) }
	f.r.pass(ctx)
	f.rt.onEnsure = nil
	// svc-0's Ensure, left to the background when c3 arrived, ends on its
	// own time: not an action of c3's pass, whose order is what is checked.
	f.r.pending.wait()
	if _, ok := f.r.inbox.take(); !ok {
		t.Fatal("c3 is not waiting")
	}
	f.revision("c3", "bbbbb")
	f.rt.calls()
	f.r.pass(ctx)
	got := f.rt.calls()
	if len(got) == 0 || !strings.HasPrefix(got[0], "svc-4-") || !slices.Contains(got, f.set("svc-4")) {
		t.Fatalf("sets ensured in the order %v: svc-4, the one c3 changed, must come first and get its new set", got)
	}
	if i := slices.Index(got, f.set("svc-4")); slices.ContainsFunc(got[:i], func(id string) bool { return !strings.HasPrefix(id, "svc-4-") }) {
		t.Fatalf("sets ensured in the order %v: another service's set came before svc-4's new one", got)
	}
}

// TestBusyPassConvergesOnlyWhatIsInFlight: between full passes, the loop
// converges only the placements left in flight: no other service's set is
// ensured, no split read or listed, and the rollout still finishes, after
// which the next pass is a full one.
func TestBusyPassConvergesOnlyWhatIsInFlight(t *testing.T) {
	ctx := context.Background()
	f, l := settledListingFleet(t)
	f.revision("c2", "abzdef") // svc-2 rolls out
	if !f.r.pass(ctx) {
		t.Fatal("svc-2's rollout is not in flight after the pass that started it")
	}
	if got := f.r.work.inFlight(); len(got) != 1 || got[0].service != "svc-2" {
		t.Fatalf("in flight after the pass: %+v, want svc-2's one placement", got)
	}
	if f.r.work.fullDue(time.Hour) {
		t.Fatal("a full pass is due right after one, with a rollout in flight")
	}
	f.rt.calls()
	reads, lists := l.reads.Load(), l.lists.Load()
	for range 10 {
		if !f.r.busyPass(ctx) {
			break
		}
		for _, id := range f.rt.calls() {
			if !strings.HasPrefix(id, "svc-2-") {
				t.Fatalf("a busy pass ensured %s: only svc-2 is in flight", id)
			}
		}
	}
	if l.lists.Load() != lists || l.reads.Load()-reads > 20 {
		t.Fatalf("busy passes listed the splits %d time(s) and read %d split(s); want no listing and only svc-2's", l.lists.Load()-lists, l.reads.Load()-reads)
	}
	if split, _ := f.tr.Split(ctx, "svc-2"); split.Weight(f.set("svc-2")) != 100 {
		t.Fatalf("svc-2's split after the busy passes: %+v; the rollout must finish in them, on %s", split, f.set("svc-2"))
	}
	if len(f.r.work.inFlight()) != 0 || !f.r.work.fullDue(time.Hour) {
		t.Fatalf("after svc-2 finished: in flight %+v, full pass due %v; want none and a full pass (a finish may let others start)",
			f.r.work.inFlight(), f.r.work.fullDue(time.Hour))
	}
}

// TestLoopPace: the pause before the next pass and whether it looks at the
// whole fleet follow what is in flight, the idle period and wakes asked.
func TestLoopPace(t *testing.T) {
	var w work
	w.fullAt = time.Now()
	if !w.fullDue(time.Hour) {
		t.Error("nothing in flight: every pass is a full one")
	}
	if d := w.next(false, time.Millisecond, time.Hour); d < 59*time.Minute {
		t.Errorf("nothing in flight, nothing asked: next pass in %s, want the idle period", d)
	}
	w.wakeAt(time.Now().Add(time.Minute))
	w.wakeAt(time.Now().Add(2 * time.Minute)) // a later wake does not delay the earlier
	if d := w.next(false, time.Millisecond, time.Hour); d > time.Minute || d < 59*time.Second {
		t.Errorf("a wake asked in a minute: next pass in %s", d)
	}
	w.start(placement{service: schema.Service{Name: "web"}, stage: "s", target: schema.Target{Name: "t"}, at: position{"web", 0, "t"}})
	if w.fullDue(time.Hour) {
		t.Error("in flight, just after a full pass: the next must be a busy one")
	}
	if d := w.next(false, time.Millisecond, time.Hour); d != time.Millisecond {
		t.Errorf("in flight: next pass in %s, want the active pace", d)
	}
	w.wakeAt(time.Now().Add(-time.Second))
	if !w.fullDue(time.Hour) {
		t.Error("a wake that is due must make the next pass a full one")
	}
	w.wake.Store(0)
	w.finish("web\x00s\x00t")
	if !w.fullDue(time.Hour) {
		t.Error("a placement finished: the next pass must be a full one")
	}
	if d := w.next(false, time.Millisecond, time.Hour); d != time.Millisecond {
		t.Errorf("a placement finished, nothing else in flight: next pass in %s, want the active pace (a next stage may start)", d)
	}
}

// TestFullPassListsEachRuntimeOnce: a full pass over a clean fleet asks the
// runtime what it runs once, for the clean checks and the orphans both, and
// an orphan that shows up is still removed.
func TestFullPassListsEachRuntimeOnce(t *testing.T) {
	ctx := context.Background()
	f, _ := settledListingFleet(t)
	f.rt.observes.Store(0)
	f.r.pass(ctx)
	if n := f.rt.observes.Load(); n != 1 {
		t.Fatalf("a full pass over a clean fleet listed the runtime %d times, want 1", n)
	}
	f.rt.fakeRuntime.mu.Lock()
	f.rt.fakeRuntime.sets["orphan-set"] = []adapters.Instance{{Index: 0, Endpoint: "127.0.0.1:9"}}
	f.rt.fakeRuntime.mu.Unlock()
	f.r.pass(ctx)
	if f.rt.count("orphan-set") != 0 {
		t.Fatal("an infra-set the journal does not know still runs after a full pass")
	}
}

// TestResyncIsSpread: a placement stays clean from half the resync
// interval to all of it, drawn anew each time, so a fleet marked clean at
// once is not converged again in one pass.
func TestResyncIsSpread(t *testing.T) {
	const every = time.Minute
	lo, hi := every, time.Duration(0)
	for range 200 {
		d := resyncAfter(every)
		if d < every/2 || d > every {
			t.Fatalf("resyncAfter(%s) = %s, not from %s to %s", every, d, every/2, every)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo > 40*time.Second || hi < 50*time.Second {
		t.Fatalf("200 draws of resyncAfter(%s) all fell from %s to %s: not spread", every, lo, hi)
	}
}
