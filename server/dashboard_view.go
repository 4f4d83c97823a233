package server

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/durable-delivery/durable/api"
)

// pageView is what the page shows.
type pageView struct {
	Status    api.Status
	LoggedIn  bool
	CanWrite  bool
	Writes    bool // the server offers writes at all
	CSRF      string
	Stages    []string
	Services  []serviceView
	Decisions []api.Entry
	Journal   []api.Entry
	// Notice says what the last action did; Commit is its commit.
	Notice, Commit string
}

// serviceView is one service: its pipeline and each placement.
type serviceView struct {
	api.ServiceStatus
	Placements []placementView
}

// placementView is one service on one target, with what the page derives.
type placementView struct {
	api.PlacementStatus
	Service string
	Split   []splitRow
	Canary  *canaryView
	Warm    []api.SetStatus
	// HeldBy are the reasons of a hold on the rollout, from its verdict.
	HeldBy []string
}

type splitRow struct {
	Set, Release string
	State        api.SetState
	Weight       int
}

// canaryView is a canary step's progress against its goals.
type canaryView struct {
	Step, Steps, Weight    int
	Elapsed, BakeTime      time.Duration
	Requests, BakeRequests uint64
	Thresholds             *api.Thresholds
	Signals                []api.Signal
	Analysis               string
}

// loginView is the login form, with why the last try failed.
type loginView struct{ Error string }

// errorView is a refusal or a failure, shown as a page.
type errorView struct {
	Code    int
	Message string
}

// view reads the status and the journal's tail into the page.
func (d *dashboard) view(ctx context.Context, s session) (pageView, error) {
	st, err := d.cfg.Reconciler.Status(ctx)
	if err != nil {
		return pageView{}, fmt.Errorf("read status: %w", err)
	}
	v := pageView{Status: st, LoggedIn: s.loggedIn, CanWrite: s.scope >= ScopeWrite && d.cfg.Actions != nil, Writes: d.cfg.Actions != nil, CSRF: d.csrf(s)}
	for _, svc := range st.Services {
		sv := serviceView{ServiceStatus: svc}
		for _, ps := range svc.Placements {
			sv.Placements = append(sv.Placements, placementOf(svc, ps, st.Time))
		}
		v.Services = append(v.Services, sv)
		if len(v.Stages) < len(svc.Stages) {
			v.Stages = v.Stages[:0]
			for _, stage := range svc.Stages {
				v.Stages = append(v.Stages, stage.Name)
			}
		}
	}
	after := uint64(0)
	if st.LastSeq > decisionScan {
		after = st.LastSeq - decisionScan
	}
	entries, err := d.cfg.Journal.Entries(ctx, after, decisionScan)
	if err != nil {
		return pageView{}, fmt.Errorf("read journal: %w", err)
	}
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if len(v.Journal) < journalTail {
			v.Journal = append(v.Journal, e)
		}
		if e.Kind == api.EntryDecision && len(v.Decisions) < decisionsShown {
			v.Decisions = append(v.Decisions, e)
		}
	}
	return v, nil
}

func placementOf(svc api.ServiceStatus, ps api.PlacementStatus, now time.Time) placementView {
	pv := placementView{PlacementStatus: ps, Service: svc.Name}
	state := map[string]api.SetState{}
	for _, set := range ps.Sets {
		state[set.ID] = set.State
		if set.State == api.SetWarm {
			pv.Warm = append(pv.Warm, set)
		}
	}
	if ps.Split != nil {
		for _, b := range ps.Split.Backends {
			pv.Split = append(pv.Split, splitRow{Set: b.Set, Release: b.Release, State: state[b.Set], Weight: b.Weight})
		}
		sort.SliceStable(pv.Split, func(i, j int) bool { return pv.Split[i].Weight > pv.Split[j].Weight })
	}
	if ro := ps.Rollout; ro != nil && !ro.Done() && ro.Verdict != nil && ro.Verdict.Result == "hold" {
		pv.HeldBy = ro.Verdict.Reasons
	}
	pv.Canary = canaryOf(svc, ps, now)
	return pv
}

// canaryOf is the progress of the placement's canary step, nil when none
// is at a step.
func canaryOf(svc api.ServiceStatus, ps api.PlacementStatus, now time.Time) *canaryView {
	ro := ps.Rollout
	if ro == nil || ro.Phase != api.RolloutCanary || svc.Strategy == nil || ro.Step < 1 || ro.Step > len(svc.Strategy.Steps) {
		return nil
	}
	goal := svc.Strategy.Steps[ro.Step-1]
	cv := &canaryView{Step: ro.Step, Steps: len(svc.Strategy.Steps), Weight: goal.Weight, BakeTime: goal.BakeTime.Duration,
		BakeRequests: goal.BakeRequests, Thresholds: goal.Analysis, Signals: ro.Signals, Analysis: ro.Analysis}
	if !ro.StepStartedAt.IsZero() && now.After(ro.StepStartedAt) {
		cv.Elapsed = now.Sub(ro.StepStartedAt).Round(100 * time.Millisecond)
	}
	for _, set := range ps.Sets {
		if set.ID == ro.Set && set.Step != nil {
			cv.Requests = set.Step.Requests
		}
	}
	return cv
}

// viewFuncs are the templates' helpers.
var viewFuncs = template.FuncMap{
	"short": func(id string) string { return id[:min(12, len(id))] },
	"since": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("15:04:05")
	},
	"pct": func(f float64) string { return fmt.Sprintf("%.2f%%", f*100) },
	// signal shows a signal's value in its unit: a rate as a percentage,
	// a latency in milliseconds.
	"signal": func(name string, v float64) string {
		switch {
		case strings.HasPrefix(name, "error-rate"), strings.Contains(name, "error-rate"):
			return fmt.Sprintf("%.2f%%", v*100)
		case strings.HasPrefix(name, "latency"):
			return fmt.Sprintf("%.0f ms", v*1000)
		}
		return fmt.Sprintf("%.4g", v)
	},
}

// render executes a template into a buffer first, so that a failure is a
// 500 with its reason, never half a page.
func (d *dashboard) render(w http.ResponseWriter, name string, data any) {
	var b strings.Builder
	if err := d.page.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "render the dashboard: "+err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write([]byte(b.String()))
}

func (d *dashboard) servePage(w http.ResponseWriter, req *http.Request) {
	s := d.session(req)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if s.scope < ScopeRead {
		w.WriteHeader(http.StatusUnauthorized)
		d.render(w, "login", loginView{})
		return
	}
	v, err := d.view(req.Context(), s)
	if err != nil {
		d.fail(w, req, http.StatusInternalServerError, err.Error())
		return
	}
	v.Notice, v.Commit = notice(req)
	d.render(w, "page", v)
}

// serveMain is the page's live part alone: the embedded script puts it in
// place of the page's when the status changes.
func (d *dashboard) serveMain(w http.ResponseWriter, req *http.Request) {
	s := d.session(req)
	if s.scope < ScopeRead {
		d.fail(w, req, http.StatusUnauthorized, "log in to read the status")
		return
	}
	v, err := d.view(req.Context(), s)
	if err != nil {
		d.fail(w, req, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	d.render(w, "main", v)
}

// fail answers a refusal or a failure as a page that says why.
func (d *dashboard) fail(w http.ResponseWriter, req *http.Request, code int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	d.render(w, "error", errorView{Code: code, Message: msg})
}
