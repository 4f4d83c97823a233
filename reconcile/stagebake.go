package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/reconcile/analysis"
	"github.com/durable-delivery/durable/schema"
)

// A stage bake: once a release serves every target of a stage, the next
// stage may start it only after it baked there, both for the stage's bake
// time and until its sets in the stage served the bake's requests.
//
// Invariant (restart safety): a bake's start, with the request counter of
// each of its sets, is journaled (a "bake-started" event) before anything
// waits on it, and its end (a "bake-done" event) before the next stage may
// start the release. Reconciler.stageBakes mirrors those events: loaded from
// the journal on first use and written only after the journal. A reconciler
// killed and restarted mid-bake therefore resumes the same bake, from the
// same start and the same baseline: it never starts it again from zero, and
// never skips it.
//
// stageBake is one bake of a release in a stage, as the journal records it.
type stageBake struct {
	StartedAt time.Time `json:"startedAt"`
	// Base is each of the release's sets in the stage with its request
	// counter when the bake started: the bake counts from there.
	Base []bakeBase `json:"base"`
	// DoneAt and Served are set once the bake ended.
	DoneAt time.Time `json:"doneAt,omitzero"`
	Served uint64    `json:"served,omitempty"`
}

// bakeBase is one set's request counter when its bake started.
type bakeBase struct {
	Target   string `json:"target"`
	Set      string `json:"set"`
	Requests uint64 `json:"requests"`
}

func bakeKey(service, stage, release string) string {
	return service + "/" + stage + "/" + release
}

// addJournaledBakes adds to out, from the journal's entries, which follow
// those out was read from, the newest bake of each release in each stage,
// with its end when it ended.
func addJournaledBakes(out map[string]stageBake, entries []journal.Entry) {
	for _, e := range entries {
		if e.Kind != api.EntryEvent || (e.Action != api.ActionBakeStarted && e.Action != api.ActionBakeDone) {
			continue
		}
		var b stageBake
		if err := json.Unmarshal(e.Detail, &b); err != nil {
			continue // not a bake this reconciler wrote: nothing to resume
		}
		key := bakeKey(e.Service, e.Stage, e.Release)
		switch prev, ok := out[key]; {
		case e.Action == api.ActionBakeStarted:
			out[key] = b
		case ok && prev.StartedAt.Equal(b.StartedAt):
			prev.DoneAt, prev.Served = b.DoneAt, b.Served
			out[key] = prev
		}
	}
}

// journaledBake is the newest journaled bake of release in stage, if any.
func (r *Reconciler) journaledBake(ctx context.Context, key string) (stageBake, bool, error) {
	r.mu.Lock()
	loaded := r.stageBakes != nil
	b, ok := r.stageBakes[key]
	r.mu.Unlock()
	if loaded {
		return b, ok, nil
	}
	all, _, err := readJournaledBakes(ctx, r.store, entryPage)
	if err != nil {
		return b, false, fmt.Errorf("read stage bakes from the journal: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stageBakes == nil {
		r.stageBakes = all
	}
	b, ok = r.stageBakes[key]
	return b, ok, nil
}

// journalBake appends a bake's event and, once it is durable, mirrors it
// (unless the mirror is not loaded yet: loading it reads the event).
func (r *Reconciler) journalBake(ctx context.Context, e journal.Entry, b stageBake) error {
	e.Kind = api.EntryEvent
	e.Detail, _ = json.Marshal(b)
	if _, err := r.store.Append(ctx, e); err != nil {
		return fmt.Errorf("journal %s: %w", e.Action, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stageBakes != nil {
		r.stageBakes[bakeKey(e.Service, e.Stage, e.Release)] = b
	}
	return nil
}

// hasBake reports whether a stage has a bake rule that asks for anything.
func hasBake(st schema.Stage) bool {
	return st.Bake != nil && (st.Bake.Time.Duration > 0 || st.Bake.Requests > 0)
}

// pipelineView is one service's pipeline in the desired state, as a view
// of the journal sees it: what its stage bakes are judged and shown on.
type pipelineView struct {
	ds      *schema.DesiredState
	v       journalView
	service string
}

// stageRelease is a release of the service in the stage at index stage of
// its pipeline: the subject of one stage bake.
type stageRelease struct {
	pipelineView
	stage   int
	release string
}

func (sr stageRelease) key() string {
	return bakeKey(sr.service, sr.ds.Pipeline.Stages[sr.stage].Name, sr.release)
}

// next is the name of the stage after the bake's, for a message.
func (sr stageRelease) next() string {
	return sr.ds.Pipeline.Stages[min(sr.stage+1, len(sr.ds.Pipeline.Stages)-1)].Name
}

// baked reports whether the release, which serves every target of its
// stage, has baked there, so that the next stage may start it. It starts
// the bake when none of this serving is journaled, and ends it once both
// the time and the requests are reached. An error holds the release: it is
// logged and asked again on the next pass.
func (r *Reconciler) baked(ctx context.Context, sr stageRelease) bool {
	stages := sr.ds.Pipeline.Stages
	st := stages[sr.stage]
	if !hasBake(st) {
		return true
	}
	if sr.stage+1 < len(stages) && sr.v.reached(sr.service, stages[sr.stage+1].Name, sr.release) {
		return true // the next stage already took it: nothing to hold
	}
	done, err := r.bake(ctx, sr)
	if err != nil {
		r.log.Error("stage bake", "service", sr.service, "stage", st.Name, "release", short(sr.release), "err", err)
		return false
	}
	return done
}

func (r *Reconciler) bake(ctx context.Context, sr stageRelease) (bool, error) {
	st := sr.ds.Pipeline.Stages[sr.stage]
	b, ok, err := r.journaledBake(ctx, sr.key())
	if err != nil {
		return false, err
	}
	if !ok || b.StartedAt.Before(sr.v.servedSince(sr.service, st, sr.release)) {
		// Never baked, or baked before the release served the stage again
		// (rolled back to, then forward): this serving bakes anew.
		return false, r.startBake(ctx, sr)
	}
	if !b.DoneAt.IsZero() {
		return true, nil
	}
	// Until the bake time is up, the requests cannot end it: they are not
	// read (one call per set per pass, at fleet size, otherwise).
	elapsed := time.Since(b.StartedAt)
	if elapsed < st.Bake.Time.Duration {
		r.work.wakeAt(b.StartedAt.Add(st.Bake.Time.Duration)) // a full pass ends it
		return false, nil
	}
	served, err := r.bakeServed(ctx, sr.ds, sr.service, b)
	if err != nil {
		return false, err
	}
	if served < st.Bake.Requests {
		return false, nil
	}
	b.DoneAt, b.Served = time.Now().UTC(), served
	msg := fmt.Sprintf("release %s baked in stage %s: %s and %d requests since %s (the stage asks %s and %d): stage %s may start it",
		short(sr.release), st.Name, elapsed.Round(time.Millisecond), served, b.StartedAt.Format(time.RFC3339), st.Bake.Time.Duration, st.Bake.Requests, sr.next())
	if err := r.journalBake(ctx, journal.Entry{Action: api.ActionBakeDone, Service: sr.service, Stage: st.Name, Release: sr.release, Message: msg}, b); err != nil {
		return false, err
	}
	r.log.Info("stage bake done", "service", sr.service, "stage", st.Name, "release", short(sr.release), "elapsed", elapsed.Round(time.Millisecond), "requests", served)
	return true, nil
}

// startBake journals the start of the release's bake in its stage, with the
// request counter of each of its sets there.
func (r *Reconciler) startBake(ctx context.Context, sr stageRelease) error {
	st := sr.ds.Pipeline.Stages[sr.stage]
	b := stageBake{StartedAt: time.Now().UTC(), Base: []bakeBase{}}
	var uncounted []string
	for _, t := range st.Targets {
		set := sr.v.serving(sr.service, st.Name, t)
		if set == nil || set.Release != sr.release {
			return fmt.Errorf("release %s no longer serves target %s of stage %s", short(sr.release), t, st.Name)
		}
		hs, ok := r.healthSourceOf(sr.ds, t)
		if !ok {
			uncounted = append(uncounted, t)
			continue
		}
		m, err := r.setMetrics(ctx, hs, sr.service, set.ID)
		if err != nil {
			return fmt.Errorf("read the request counter of %s: %w", set.ID, err)
		}
		b.Base = append(b.Base, bakeBase{Target: t, Set: set.ID, Requests: m.Requests})
	}
	msg := fmt.Sprintf("release %s serves all %d target(s) of stage %s: it bakes there %s and %d requests before stage %s may start it",
		short(sr.release), len(st.Targets), st.Name, st.Bake.Time.Duration, st.Bake.Requests, sr.next())
	if len(uncounted) > 0 {
		msg += fmt.Sprintf("; requests are not counted on %s, whose traffic adapter reports no per-set metrics", strings.Join(uncounted, ", "))
	}
	if err := r.journalBake(ctx, journal.Entry{Action: api.ActionBakeStarted, Service: sr.service, Stage: st.Name, Release: sr.release, Message: msg}, b); err != nil {
		return err
	}
	r.log.Info("stage bake started", "service", sr.service, "stage", st.Name, "release", short(sr.release), "time", st.Bake.Time.Duration, "requests", st.Bake.Requests)
	return nil
}

// bakeServed is what a bake's sets served since it started. A counter that
// went back (the traffic adapter restarted) counts only what came after.
func (r *Reconciler) bakeServed(ctx context.Context, ds *schema.DesiredState, service string, b stageBake) (uint64, error) {
	var served uint64
	for _, base := range b.Base {
		hs, ok := r.healthSourceOf(ds, base.Target)
		if !ok {
			return 0, fmt.Errorf("target %s: traffic adapter reports no per-set metrics", base.Target)
		}
		m, err := r.setMetrics(ctx, hs, service, base.Set)
		if err != nil {
			return 0, fmt.Errorf("read the request counter of %s: %w", base.Set, err)
		}
		served += analysis.Since(journal.Counters{Requests: m.Requests}, journal.Counters{Requests: base.Requests}).Requests
	}
	return served, nil
}

// healthSourceOf is a target's traffic adapter when it counts per set.
func (r *Reconciler) healthSourceOf(ds *schema.DesiredState, target string) (adapters.HealthSource, bool) {
	t, ok := ds.Targets[target]
	if !ok {
		return nil, false
	}
	tr, err := r.targets.traffic(t)
	if err != nil {
		return nil, false
	}
	return r.countsOf(t, tr)
}

// servedSince is when release last started serving on a target of the
// stage: a bake older than that is of an earlier serving.
func (v journalView) servedSince(service string, st schema.Stage, release string) time.Time {
	var at time.Time
	for _, t := range st.Targets {
		if s := v.serving(service, st.Name, t); s != nil && s.Release == release && s.ServedAt.After(at) {
			at = s.ServedAt
		}
	}
	return at
}

// reached reports whether release has a live set in the stage.
func (v journalView) reached(service, stage, release string) bool {
	for _, s := range v.setsOf(service) {
		if s.Service == service && s.Stage == stage && s.Release == release && s.State.Live() {
			return true
		}
	}
	return false
}

// addBakeViews shows, on each stage with a bake rule but the last (which
// has no next stage to hold), the journaled bake of the release it promoted
// (serves on every target), if any.
func addBakeViews(views []api.StageView, pv pipelineView, bakes map[string]stageBake, now time.Time) {
	ds, v, service := pv.ds, pv.v, pv.service
	for i, st := range ds.Pipeline.Stages {
		if !hasBake(st) || i+1 >= len(ds.Pipeline.Stages) || i >= len(views) {
			continue
		}
		bv := &api.BakeView{Time: st.Bake.Time, Requests: st.Bake.Requests}
		views[i].Bake = bv
		release := promoted(views[i], st)
		b, ok := bakes[bakeKey(service, st.Name, release)]
		if release == "" || !ok || b.StartedAt.Before(v.servedSince(service, st, release)) {
			continue
		}
		bv.Release, bv.StartedAt, bv.Served = release, b.StartedAt, b.Served
		bv.Elapsed.Duration = now.Sub(b.StartedAt).Round(time.Millisecond)
		if !b.DoneAt.IsZero() {
			bv.Done, bv.DoneAt = true, b.DoneAt
			bv.Elapsed.Duration = b.DoneAt.Sub(b.StartedAt).Round(time.Millisecond)
		}
	}
}

// promoted is the release the stage serves on every one of its targets.
func promoted(sv api.StageView, st schema.Stage) string {
	release := ""
	for i, t := range st.Targets {
		r := sv.Serving[t]
		if r == "" || (i > 0 && r != release) {
			return ""
		}
		release = r
	}
	return release
}

// bakesServed adds, to the bakes in progress in a status, what their sets
// served so far, as last observed.
func (r *Reconciler) bakesServed(ctx context.Context, s *api.Status) {
	for i := range s.Services {
		svc := &s.Services[i]
		for j := range svc.Stages {
			bv := svc.Stages[j].Bake
			if bv == nil || bv.Release == "" || bv.Done {
				continue
			}
			b, ok, err := r.journaledBake(ctx, bakeKey(svc.Name, svc.Stages[j].Name, bv.Release))
			if err != nil || !ok || !b.StartedAt.Equal(bv.StartedAt) {
				continue
			}
			bv.Served = 0
			for _, base := range b.Base {
				n, _ := r.observed.served(base.Set, base.Requests)
				bv.Served += n
			}
		}
	}
}
