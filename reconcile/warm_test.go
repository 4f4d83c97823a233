package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

func TestWarmReplicas(t *testing.T) {
	for _, tc := range []struct {
		mode        string
		replicas    int
		rollingBack bool
		want        int
	}{
		{schema.WarmFull, 3, false, 3},
		{"", 3, false, 3},
		{schema.WarmMinimal, 3, false, 1},
		{schema.WarmMinimal, 3, true, 3},
		{schema.WarmMinimal, 1, false, 1},
	} {
		if got := warmReplicas(tc.mode, tc.replicas, tc.rollingBack); got != tc.want {
			t.Errorf("warmReplicas(%q, %d, rolling back %v) = %d, want %d", tc.mode, tc.replicas, tc.rollingBack, got, tc.want)
		}
	}
}

func TestWithoutStoppedKeepsTheOtherBackends(t *testing.T) {
	split := adapters.Split{Service: "web", Backends: []adapters.Backend{
		{Set: "new", Weight: 100, Endpoints: []string{"n0", "n1"}},
		{Set: "old", Weight: 0, Endpoints: []string{"o0", "o1", "o2"}},
	}}
	st := adapters.InfraSetStatus{Instances: []adapters.Instance{{Index: 0, Endpoint: "o0"}, {Index: 1, Endpoint: "o1"}, {Index: 2, Endpoint: "o2"}}}
	got, changed := withoutStopped(split, "old", st, 1)
	if !changed || !slices.Equal(got.Backends[1].Endpoints, []string{"o0"}) || !slices.Equal(got.Backends[0].Endpoints, []string{"n0", "n1"}) {
		t.Fatalf("trimmed split %+v (changed %v)", got, changed)
	}
	if !slices.Equal(split.Backends[1].Endpoints, []string{"o0", "o1", "o2"}) {
		t.Fatal("the split passed in was modified")
	}
	if _, changed := withoutStopped(got, "old", st, 1); changed {
		t.Fatal("trimming again changed the split")
	}
	got, changed = withoutStopped(split, "old", adapters.InfraSetStatus{}, 1)
	if !changed || len(got.Backends) != 1 || got.Backends[0].Set != "new" {
		t.Fatalf("a warm set with no instance kept must leave the split: %+v", got)
	}
}

func TestAfterScaleSet(t *testing.T) {
	before, err := policy.PrepareFleet(map[string]policy.FleetService{"web": {Replicas: 3, KeepWarm: 1, Placements: []policy.FleetPlacement{{
		Stage: "s", Target: "t", Sets: []policy.FleetSet{
			{ID: "new", State: api.SetServing, Weight: 100, Healthy: 3, Desired: 3},
			{ID: "old", State: api.SetWarm, Healthy: 3, Desired: 3},
		}}}}})
	if err != nil {
		t.Fatal(err)
	}
	text := string(before.Services["web"].JSON())
	down, err := after(before, policy.Action{Kind: api.ActionScaleSet, Service: "web", Stage: "s", Target: "t", Set: "old"}, "z")
	if err != nil {
		t.Fatal(err)
	}
	if s := down.Services["web"].Of.Placements[0].Sets[1]; s.Healthy != 1 || s.Desired != 3 || s.State != api.SetWarm {
		t.Fatalf("after a scale-down: %+v", s)
	}
	if before.Services["web"].Of.Placements[0].Sets[1].Healthy != 3 || string(before.Services["web"].JSON()) != text {
		t.Fatal("after modified the fleet before the action")
	}
	if want, _ := json.Marshal(down.Services["web"].Of); string(down.Services["web"].JSON()) != string(want) {
		t.Fatalf("the service after is prepared as\n%s\nit holds\n%s", down.Services["web"].JSON(), want)
	}
	up, err := after(down, policy.Action{Kind: api.ActionScaleSet, Service: "web", Stage: "s", Target: "t", Set: "old", Rollback: true}, "z")
	if err != nil {
		t.Fatal(err)
	}
	if pl := up.Services["web"].Of.Placements[0]; !pl.InFlight || pl.Sets[1].Healthy != 1 {
		t.Fatalf("after a rollback's scale-up: %+v", pl)
	}
}

// TestMinimalWarmSetScalesDownAndBack drives the placement pass by pass:
// v1 serves, v2 takes over and v1 goes down to one instance; a rollback to
// v1 starts its other instances again in the same set, survives a
// reconciler restart after a failed start, and switches only once they are
// all healthy; then v2 goes down to one.
func TestMinimalWarmSetScalesDownAndBack(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	v1, v2 := h.service("a", schema.Health{}), h.service("b", schema.Health{})
	set1, set2 := infraSetID("web", "t", v1.ReleaseID()), infraSetID("web", "t", v2.ReleaseID())

	h.serve(ctx, v1, "c1")
	h.serve(ctx, v2, "c2")
	h.pass(ctx, v2, "c2")
	if n := h.rt.count(set1); n != 1 {
		t.Fatalf("warm v1 runs %d instances, want 1", n)
	}
	if eps := h.tr.endpoints(set1); len(eps) != 1 {
		t.Fatalf("warm v1's backend routes %v, want its one instance", eps)
	}
	h.pass(ctx, v2, "c2")
	if n := h.rt.count(set2); n != 3 {
		t.Fatalf("serving v2 runs %d instances", n)
	}

	// The rollback: the start of the two missing instances fails once, as
	// if the reconciler died after journaling the intent; a new reconciler
	// on the same journal and target takes over.
	h.rt.startHealthy = false
	h.rt.failOnce(set1, 3)
	if _, err := h.r.converge(ctx, h.placement(v1, "c3")); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("first rollback pass: %v", err)
	}
	if h.tr.weight(set2) != 100 || h.rt.count(set1) != 1 {
		t.Fatalf("after the failed start: v2 weight %d, v1 runs %d", h.tr.weight(set2), h.rt.count(set1))
	}
	h.restart()
	for range 3 {
		h.pass(ctx, v1, "c3")
	}
	if h.rt.count(set1) != 3 || h.tr.weight(set2) != 100 {
		t.Fatalf("while v1's instances start: v1 runs %d, v2 weight %d", h.rt.count(set1), h.tr.weight(set2))
	}
	h.rt.ready(set1)
	h.pass(ctx, v1, "c3")
	if h.tr.weight(set1) != 100 {
		t.Fatalf("v1 healthy but not switched to: %+v", h.tr.splits["web"])
	}
	h.pass(ctx, v1, "c3")
	if h.rt.count(set2) != 1 || h.rt.count(set1) != 3 {
		t.Fatalf("after the rollback: v1 runs %d, v2 %d", h.rt.count(set1), h.rt.count(set2))
	}
	s, err := h.st.InfraSet(ctx, set1)
	if err != nil || s.State != api.SetServing {
		t.Fatalf("v1's set after the rollback: %+v, %v", s, err)
	}

	// The journal tells the story in order.
	var story []string
	entries, err := h.st.Entries(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Kind != api.EntryOutcome || e.Action == "" {
			continue
		}
		line := string(e.Action) + " " + map[string]string{set1: "v1", set2: "v2"}[e.Set]
		if e.Error != "" {
			line += " failed"
		}
		if len(story) == 0 || story[len(story)-1] != line {
			story = append(story, line)
		}
	}
	want := []string{
		"create-set v1", "set-split v1",
		"create-set v2", "set-split v2",
		"scale-set v1",                        // down to one
		"scale-set v1 failed", "scale-set v1", // up again, after the restart
		"set-split v1", // the rollback
		"scale-set v2", // down to one
	}
	if !slices.Equal(story, want) {
		t.Fatalf("journal:\n%s\nwant:\n%s", strings.Join(story, "\n"), strings.Join(want, "\n"))
	}
}

// TestMinimalWarmSetDrainsBeforeScalingDown keeps a warm set whole while it
// has requests in flight, up to the drain timeout.
func TestMinimalWarmSetDrainsBeforeScalingDown(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	v1, v2 := h.service("a", schema.Health{}), h.service("b", schema.Health{})
	set1 := infraSetID("web", "t", v1.ReleaseID())
	h.serve(ctx, v1, "c1")
	h.tr.inFlight = 2
	h.serve(ctx, v2, "c2")
	if busy := h.pass(ctx, v2, "c2"); !busy || h.rt.count(set1) != 3 {
		t.Fatalf("with requests in flight: busy %v, v1 runs %d", busy, h.rt.count(set1))
	}
	h.tr.inFlight = 0
	h.pass(ctx, v2, "c2")
	if h.rt.count(set1) != 1 {
		t.Fatalf("drained: v1 runs %d", h.rt.count(set1))
	}
}

// harness is a reconciler on a real journal (bbolt in a temporary folder)
// with a fake runtime and traffic adapter: these tests drive its decisions
// pass by pass, which a real runtime's timing would blur. The demo tests
// run the same paths on the process runtime and the router.
type harness struct {
	t      testing.TB
	dir    string
	st     journal.Store
	rt     *fakeRuntime
	tr     *fakeTraffic
	r      *Reconciler
	target schema.Target
	ds     *schema.DesiredState
}

func newHarness(t testing.TB) *harness {
	h := &harness{t: t, dir: t.TempDir(), rt: &fakeRuntime{sets: map[string][]adapters.Instance{}, startHealthy: true},
		tr:     &fakeTraffic{splits: map[string]adapters.Split{}},
		target: schema.Target{Name: "t", Zone: "z", Runtime: schema.Adapter{Kind: "fake"}, Traffic: schema.Adapter{Kind: "fake"}}}
	h.restart()
	return h
}

// restart makes a new reconciler on the same journal and targets, as after
// a crash: nothing of the last one's memory is kept.
func (h *harness) restart() {
	if h.st != nil {
		h.st.Close()
	}
	st, err := journal.OpenBolt(filepath.Join(h.dir, "journal.db"), journal.BoltOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { st.Close() })
	cfg := Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cfg.defaults()
	r := &Reconciler{cfg: cfg, store: st, targets: newTargetSet(adapters.Host{}, Fleet{}), log: cfg.Logger,
		healthy: map[string]int{}, endpoints: map[string][]string{}, lastVerdict: map[string]string{},
		verified: map[string]bool{}, reverted: map[string]bool{}}
	r.targets.runtimes[adapterKey(h.target, h.target.Runtime)] = h.rt
	r.targets.traffics[adapterKey(h.target, h.target.Traffic)] = h.tr
	r.desired = h.ds
	h.st, h.r = st, r
}

// service is web at artifact digest digit, blue/green with one set kept
// warm in warmMode minimal, journaled as a release.
func (h *harness) service(digit string, health schema.Health) schema.Service {
	svc := schema.Service{Name: "web", Artifact: "r/web@sha256:" + strings.Repeat(digit, 64),
		Run: schema.Run{Port: 8080, Replicas: 3}, Health: health,
		Strategy: schema.Strategy{Kind: schema.BlueGreen, KeepWarm: 1, WarmMode: schema.WarmMinimal,
			ProgressDeadline: schema.Duration{Duration: time.Minute}}}
	spec, err := json.Marshal(svc)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.st.PutRelease(context.Background(), journal.Release{ID: svc.ReleaseID(), Service: "web", Artifact: svc.Artifact, Spec: spec}); err != nil {
		h.t.Fatal(err)
	}
	return svc
}

func (h *harness) placement(svc schema.Service, revision string) placement {
	h.ds = &schema.DesiredState{Services: map[string]schema.Service{"web": svc}, Targets: map[string]schema.Target{"t": h.target},
		Pipeline: schema.Pipeline{Stages: []schema.Stage{{Name: "s", Targets: []string{"t"}}}}}
	h.r.mu.Lock()
	h.r.desired = h.ds
	h.r.mu.Unlock()
	return placement{service: svc, stage: "s", target: h.target, revision: revision, attempt: revision}
}

// pass converges the placement once, failing the test on an error.
func (h *harness) pass(ctx context.Context, svc schema.Service, revision string) bool {
	h.t.Helper()
	busy, err := h.r.converge(ctx, h.placement(svc, revision))
	if err != nil {
		h.t.Fatalf("converge %s: %v", short(svc.ReleaseID()), err)
	}
	return busy
}

// serve converges until svc's set takes all of the traffic.
func (h *harness) serve(ctx context.Context, svc schema.Service, revision string) {
	h.t.Helper()
	id := infraSetID("web", "t", svc.ReleaseID())
	for range 5 {
		h.pass(ctx, svc, revision)
		if h.tr.weight(id) == 100 {
			return
		}
	}
	h.t.Fatalf("%s never took the traffic: %+v", id, h.tr.splits["web"])
}

// fakeRuntime keeps instances in memory: instance i of a set listens on a
// made-up endpoint, healthy from its start when startHealthy, else once
// ready is called.
type fakeRuntime struct {
	mu           sync.Mutex
	sets         map[string][]adapters.Instance
	startHealthy bool
	next         int
	fail         map[string]bool
}

func (f *fakeRuntime) failOnce(id string, replicas int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == nil {
		f.fail = map[string]bool{}
	}
	f.fail[fmt.Sprintf("%s/%d", id, replicas)] = true
}

func (f *fakeRuntime) Ensure(_ context.Context, spec adapters.InfraSetSpec) (adapters.InfraSetStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := adapters.InfraSetStatus{ID: spec.ID, Service: spec.Service, Release: spec.Release}
	if key := fmt.Sprintf("%s/%d", spec.ID, spec.Replicas); f.fail[key] {
		delete(f.fail, key)
		return st, fmt.Errorf("fake: ensure %s: injected failure: %w", spec.ID, adapters.ErrUnavailable)
	}
	byIndex := map[int]adapters.Instance{}
	for _, in := range f.sets[spec.ID] {
		if in.Index < spec.Replicas {
			byIndex[in.Index] = in
		}
	}
	for i := range spec.Replicas {
		if _, ok := byIndex[i]; !ok {
			f.next++
			byIndex[i] = adapters.Instance{Index: i, Endpoint: fmt.Sprintf("127.0.0.1:%d", 20000+f.next), Healthy: f.startHealthy}
		}
	}
	instances := make([]adapters.Instance, 0, spec.Replicas)
	for i := range spec.Replicas {
		instances = append(instances, byIndex[i])
	}
	f.sets[spec.ID] = instances
	st.Instances = slices.Clone(instances)
	return st, nil
}

func (f *fakeRuntime) Observe(context.Context) ([]adapters.InfraSetStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []adapters.InfraSetStatus
	for id, ins := range f.sets {
		// As the real runtimes: Observe knows no health check (it has no
		// spec), so it reports no instance healthy; Ensure checks.
		seen := slices.Clone(ins)
		for i := range seen {
			seen[i].Healthy = false
		}
		out = append(out, adapters.InfraSetStatus{ID: id, Instances: seen})
	}
	return out, nil
}

func (f *fakeRuntime) Remove(_ context.Context, id string, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sets, id)
	return nil
}

func (f *fakeRuntime) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sets[id])
}

// ready makes every instance of the set pass its health check.
func (f *fakeRuntime) ready(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.sets[id] {
		f.sets[id][i].Healthy = true
	}
}

// fakeTraffic keeps splits in memory, with inFlight requests on every set.
type fakeTraffic struct {
	mu       sync.Mutex
	splits   map[string]adapters.Split
	inFlight int
}

func (f *fakeTraffic) SetSplit(_ context.Context, split adapters.Split) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	split.Backends = slices.Clone(split.Backends)
	f.splits[split.Service] = split
	return nil
}

func (f *fakeTraffic) Split(_ context.Context, service string) (adapters.Split, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.splits[service]
	if !ok {
		return s, fmt.Errorf("fake: split of %s: %w", service, adapters.ErrNotFound)
	}
	s.Backends = slices.Clone(s.Backends)
	return s, nil
}

func (f *fakeTraffic) InFlight(context.Context, string, string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inFlight, nil
}

func (f *fakeTraffic) weight(set string) int {
	s, _ := f.Split(context.Background(), "web")
	return s.Weight(set)
}

func (f *fakeTraffic) endpoints(set string) []string {
	s, _ := f.Split(context.Background(), "web")
	for _, b := range s.Backends {
		if b.Set == set {
			return b.Endpoints
		}
	}
	return nil
}
