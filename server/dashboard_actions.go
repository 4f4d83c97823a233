package server

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"

	"github.com/durable-delivery/durable/api"
)

var (
	formRelease = regexp.MustCompile(`^[a-f0-9]{12,64}$`)
	formName    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	commitID    = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
)

// notices are what the page says after an action, by the done parameter
// the action redirects with: never text from the request.
var notices = map[string]string{
	"approved":   "Approval committed",
	"rolledback": "Rollback committed: traffic moves to the warm set as soon as the reconciler sees the commit",
}

// notice reads the redirect's done and commit parameters.
func notice(req *http.Request) (string, string) {
	q := req.URL.Query()
	n, ok := notices[q.Get("done")]
	if !ok || !commitID.MatchString(q.Get("commit")) {
		return "", ""
	}
	return n, q.Get("commit")
}

// approve commits an approval of the release waiting at a stage's gate,
// when the gate takes approvals that are not signed.
func (d *dashboard) approve(w http.ResponseWriter, req *http.Request) {
	if _, ok := d.writer(w, req); !ok {
		return
	}
	f := req.PostForm
	stage, release, by, reason := f.Get("stage"), f.Get("release"), f.Get("by"), f.Get("reason")
	if !formName.MatchString(stage) || !formRelease.MatchString(release) {
		d.fail(w, req, http.StatusBadRequest, "stage and release must be a stage name and a release id, as the page sends them")
		return
	}
	st, err := d.cfg.Reconciler.Status(req.Context())
	if err != nil {
		d.fail(w, req, http.StatusInternalServerError, "read status: "+err.Error())
		return
	}
	gate, err := waitingGate(st, stage, release)
	if err != nil {
		d.fail(w, req, http.StatusConflict, err.Error())
		return
	}
	if gate.Signed {
		d.fail(w, req, http.StatusConflict, "stage "+stage+"'s gate counts signed approvals only: run `"+gate.Approve+"` in a clone, with your signing key, and push")
		return
	}
	if d.cfg.Actions == nil {
		d.fail(w, req, http.StatusNotImplemented, "this server offers no writes")
		return
	}
	commit, err := d.cfg.Actions.Approve(req.Context(), stage, release, by, reason)
	if err != nil {
		d.fail(w, req, http.StatusBadGateway, "approve: "+err.Error())
		return
	}
	http.Redirect(w, req, "/?"+url.Values{"done": {"approved"}, "commit": {commit}}.Encode(), http.StatusSeeOther)
}

// waitingGate is the gate of stage that waits for release, on any service.
func waitingGate(st api.Status, stage, release string) (*api.GateView, error) {
	for _, svc := range st.Services {
		for _, sv := range svc.Stages {
			if sv.Name == stage && sv.Gate != nil && sv.Gate.Release == release && sv.Gate.Approve != "" {
				return sv.Gate, nil
			}
		}
	}
	return nil, errors.New("no gate of stage " + stage + " waits for release " + release[:12] + " now: reload the page")
}

// rollback commits the service's fields as they were at the release of one
// of its warm sets.
func (d *dashboard) rollback(w http.ResponseWriter, req *http.Request) {
	if _, ok := d.writer(w, req); !ok {
		return
	}
	f := req.PostForm
	service, stage, release := f.Get("service"), f.Get("stage"), f.Get("release")
	if !formName.MatchString(stage) || !formRelease.MatchString(release) || service == "" || len(service) > 253 {
		d.fail(w, req, http.StatusBadRequest, "service, stage and release must be a service, a stage name and a release id, as the page sends them")
		return
	}
	st, err := d.cfg.Reconciler.Status(req.Context())
	if err != nil {
		d.fail(w, req, http.StatusInternalServerError, "read status: "+err.Error())
		return
	}
	if !hasWarm(st, service, stage, release) {
		d.fail(w, req, http.StatusConflict, "no warm set of "+service+" runs release "+release[:12]+" in stage "+stage+" now: reload the page")
		return
	}
	if d.cfg.Actions == nil {
		d.fail(w, req, http.StatusNotImplemented, "this server offers no writes")
		return
	}
	commit, err := d.cfg.Actions.Rollback(req.Context(), service, stage, release)
	if err != nil {
		d.fail(w, req, http.StatusBadGateway, "roll back: "+err.Error())
		return
	}
	http.Redirect(w, req, "/?"+url.Values{"done": {"rolledback"}, "commit": {commit}}.Encode(), http.StatusSeeOther)
}

func hasWarm(st api.Status, service, stage, release string) bool {
	for _, svc := range st.Services {
		if svc.Name != service {
			continue
		}
		for _, ps := range svc.Placements {
			for _, set := range ps.Sets {
				if ps.Stage == stage && set.State == api.SetWarm && set.Release == release {
					return true
				}
			}
		}
	}
	return false
}
