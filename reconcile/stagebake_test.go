package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/hostconfig"
	"github.com/durable-delivery/durable/adapters/router"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// bakeRouter is a real router with one set of service web behind it (a
// real HTTP server); serve sends n requests through it.
func bakeRouter(t *testing.T, set string) (admin string, serve func(n int)) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := router.New(filepath.Join(t.TempDir(), "router.json"), quiet)
	if err != nil {
		t.Fatal(err)
	}
	adminSrv := httptest.NewServer(rt.AdminHandler())
	t.Cleanup(adminSrv.Close)
	proxy := httptest.NewServer(rt)
	t.Cleanup(proxy.Close)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
	t.Cleanup(app.Close)
	admin = strings.TrimPrefix(adminSrv.URL, "http://")
	split := adapters.Split{Service: "web", Backends: []adapters.Backend{{Set: set, Weight: 100, Endpoints: []string{strings.TrimPrefix(app.URL, "http://")}}}}
	c, err := router.NewClient(admin, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetSplit(context.Background(), split); err != nil {
		t.Fatal(err)
	}
	return admin, func(n int) {
		t.Helper()
		for range n {
			resp, err := http.Get(proxy.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
}

// bakeEvents are the journal's stage bake events.
func bakeEvents(t *testing.T, st journal.Store) (started, done []stageBake) {
	t.Helper()
	entries, err := st.Entries(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		var b stageBake
		if e.Kind != api.EntryEvent || json.Unmarshal(e.Detail, &b) != nil {
			continue
		}
		switch e.Action {
		case api.ActionBakeStarted:
			started = append(started, b)
		case api.ActionBakeDone:
			done = append(done, b)
		}
	}
	return started, done
}

// TestStageBakeWaitsForTimeAndRequestsAcrossARestart bakes a release in
// staging behind a real router, with a real journal: the bake holds prod
// until both its time and its requests are reached, counted from its start;
// a reconciler restarted mid-bake resumes the same bake.
func TestStageBakeWaitsForTimeAndRequestsAcrossARestart(t *testing.T) {
	ctx := context.Background()
	const set = "web-set-s1"
	admin, serve := bakeRouter(t, set)
	ds := pipelineState("b")
	ds.Targets = map[string]schema.Target{"s1": {Name: "s1", Traffic: schema.Adapter{Kind: "router", Config: json.RawMessage(`{"admin": "s1"}`)}}}
	host := adapters.Host{Config: &hostconfig.Config{File: "host.yaml", Routers: map[string]hostconfig.Router{"s1": {Admin: admin}}}}
	ds.Pipeline.Stages[0].Bake = &schema.StageBake{Time: schema.Duration{Duration: 500 * time.Millisecond}, Requests: 10}
	release := ds.Services["web"].ReleaseID()
	serving := journal.InfraSet{ID: set, Service: "web", Stage: "staging", Target: "s1", Release: release, State: api.SetServing, ServedAt: time.Now().UTC()}
	v := journalView{sets: []journal.InfraSet{serving}}

	path := filepath.Join(t.TempDir(), "journal.db")
	open := func() (*journal.Bolt, *Reconciler) {
		st, err := journal.OpenBolt(path, journal.BoltOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return st, &Reconciler{store: st, targets: newTargetSet(host, Fleet{}), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	st, r := open()
	serve(3) // served before the bake: not counted
	if r.baked(ctx, stageRelease{pipelineView: pipelineView{ds: ds, v: v, service: "web"}, release: release}) {
		t.Fatal("baked as soon as it served the stage")
	}
	serve(5)
	if r.baked(ctx, stageRelease{pipelineView: pipelineView{ds: ds, v: v, service: "web"}, release: release}) {
		t.Fatal("baked before its time and requests")
	}
	started, _ := bakeEvents(t, st)
	if len(started) != 1 || len(started[0].Base) != 1 || started[0].Base[0].Set != set || started[0].Base[0].Requests != 3 {
		t.Fatalf("bake started: %+v; want one, counting from %s's 3 requests", started, set)
	}

	// Restart: the same bake goes on, from the journal.
	st.Close()
	st, r = open()
	defer st.Close()
	time.Sleep(500 * time.Millisecond)
	if r.baked(ctx, stageRelease{pipelineView: pipelineView{ds: ds, v: v, service: "web"}, release: release}) {
		t.Fatal("baked with 5 of 10 requests")
	}
	serve(5)
	if !r.baked(ctx, stageRelease{pipelineView: pipelineView{ds: ds, v: v, service: "web"}, release: release}) {
		t.Fatal("not baked after its time and 10 requests")
	}
	if !r.baked(ctx, stageRelease{pipelineView: pipelineView{ds: ds, v: v, service: "web"}, release: release}) {
		t.Fatal("a bake done is done")
	}
	again, done := bakeEvents(t, st)
	if len(again) != 1 || len(done) != 1 || !done[0].StartedAt.Equal(started[0].StartedAt) || done[0].Served != 10 ||
		done[0].DoneAt.Sub(done[0].StartedAt) < 500*time.Millisecond {
		t.Fatalf("after the restart: started %+v, done %+v; want the first bake ended once, with 10 requests, after 500ms", again, done)
	}
	// wantOf lets prod start the release only now.
	views := stageViews(ds, "web", v)
	addBakeViews(views, pipelineView{ds: ds, v: v, service: "web"}, journaledBakes(mustEntries(t, st)), time.Now())
	if b := views[0].Bake; b == nil || !b.Done || b.Release != release || b.Served != 10 || !b.StartedAt.Equal(started[0].StartedAt) {
		t.Fatalf("bake view: %+v", views[0].Bake)
	}

	// Served again later (rolled back to, then forward): a new bake.
	serving.ServedAt = time.Now().UTC()
	v2 := journalView{sets: []journal.InfraSet{serving}}
	if r.baked(ctx, stageRelease{pipelineView: pipelineView{ds: ds, v: v2, service: "web"}, release: release}) {
		t.Fatal("a new serving reused an old bake")
	}
	if started, _ := bakeEvents(t, st); len(started) != 2 {
		t.Fatalf("bakes started: %d, want 2", len(started))
	}
	// Once the next stage took the release, there is nothing to hold.
	v2.sets = append(v2.sets, journal.InfraSet{ID: "web-set-p1", Service: "web", Stage: "prod", Target: "p1", Release: release, State: api.SetCanary})
	if !r.baked(ctx, stageRelease{pipelineView: pipelineView{ds: ds, v: v2, service: "web"}, release: release}) {
		t.Fatal("a bake held a release the next stage already runs")
	}
}

func mustEntries(t *testing.T, st journal.Store) []journal.Entry {
	t.Helper()
	entries, err := st.Entries(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestWantOfWaitsForTheBake(t *testing.T) {
	r1 := pipelineState("a").Services["web"].ReleaseID()
	r2 := pipelineState("b").Services["web"].ReleaseID()
	ds := pipelineState("b")
	v := journalView{sets: []journal.InfraSet{
		{Service: "web", Stage: "staging", Target: "s1", Release: r2, State: api.SetServing},
		{Service: "web", Stage: "prod", Target: "p1", Release: r1, State: api.SetServing},
	}}
	baking := true
	v.baked = func(stage int, release string) bool {
		if stage != 0 || release != r2 {
			t.Errorf("asked about stage %d, release %.8s", stage, release)
		}
		return !baking
	}
	if got := wantOf(ds, v, "web", 1, "p1"); got != r1 {
		t.Fatalf("while r2 bakes in staging, prod wants %.8s; want r1 kept", got)
	}
	if got := wantOf(ds, v, "web", 1, "p2"); got != "" {
		t.Fatalf("while r2 bakes, an empty target wants %.8s; want nothing", got)
	}
	baking = false
	if got := wantOf(ds, v, "web", 1, "p1"); got != r2 {
		t.Fatalf("once r2 baked, prod wants %.8s; want r2", got)
	}
}

func TestJournaledBakesKeepTheNewestServing(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	event := func(action api.Action, b stageBake) journal.Entry {
		d, _ := json.Marshal(b)
		return journal.Entry{Kind: api.EntryEvent, Action: action, Service: "web", Stage: "staging", Release: "r", Detail: d}
	}
	got := journaledBakes([]journal.Entry{
		event(api.ActionBakeStarted, stageBake{StartedAt: t0}),
		event(api.ActionBakeDone, stageBake{StartedAt: t0, DoneAt: t0.Add(time.Minute), Served: 7}),
		event(api.ActionBakeStarted, stageBake{StartedAt: t0.Add(time.Hour)}),
		// An end of another bake does not end this one.
		event(api.ActionBakeDone, stageBake{StartedAt: t0, DoneAt: t0.Add(2 * time.Hour), Served: 9}),
		{Kind: api.EntryEvent, Action: api.ActionBakeStarted, Service: "web", Stage: "prod", Release: "r", Detail: json.RawMessage(`"?"`)},
	})
	b, ok := got[bakeKey("web", "staging", "r")]
	if len(got) != 1 || !ok || !b.StartedAt.Equal(t0.Add(time.Hour)) || !b.DoneAt.IsZero() {
		t.Fatalf("bakes %+v", got)
	}
}
