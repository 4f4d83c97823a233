package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/durable-delivery/durable/api"
)

// maxRollbackBody bounds a rollback request's body.
const maxRollbackBody = 4 << 10

// RollbackHandler serves POST /v1/rollback (durable rollback): it commits
// a service's fields back to a release, through acts, and answers what
// the reconciler will do with the commit (api.RollbackResult). The
// request is api.RollbackRequest; a release left out is the one release a
// warm set of the service runs (in the stage asked, if one is). The API's
// guard asks a write token of it, as of every POST. With acts nil (the
// trust file wants signed commits, and the reconciler has no key to sign its
// own) it answers 501
// with the commit to write by hand instead.
func RollbackHandler(r StatusReader, acts Actions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var in api.RollbackRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, maxRollbackBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			code := http.StatusBadRequest
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				code = http.StatusRequestEntityTooLarge
			}
			writeError(w, code, "read the rollback request: "+err.Error()+`; send {"service": "NAME", "stage": "STAGE", "release": "ID"} (stage and release optional)`)
			return
		}
		if err := in.Check(); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		st, err := r.Status(req.Context())
		if err != nil {
			writeError(w, http.StatusInternalServerError, "read status: "+err.Error())
			return
		}
		plan, err := planRollback(st, in)
		if err != nil {
			writeError(w, http.StatusConflict, err.Error())
			return
		}
		if acts == nil {
			writeError(w, http.StatusNotImplemented, fmt.Sprintf("this reconciler writes no commits: its trust file wants them signed, and it has no key to sign its own (durable run --commit-key); commit %s's fields as release %s declared them yourself, signed", in.Service, short(plan.Release)))
			return
		}
		plan.Commit, err = acts.Rollback(req.Context(), in.Service, plan.Stage, plan.Release)
		if err != nil {
			writeError(w, http.StatusBadGateway, "roll back: "+err.Error())
			return
		}
		writeJSON(w, http.StatusOK, plan)
	})
}

// planRollback picks the release and stage of a rollback from the status,
// and says what the reconciler will do with it: switch the warm sets that
// run it, or roll it out as a new release where none does.
func planRollback(st api.Status, in api.RollbackRequest) (api.RollbackResult, error) {
	svc := slices.IndexFunc(st.Services, func(s api.ServiceStatus) bool { return s.Name == in.Service })
	if svc < 0 {
		return api.RollbackResult{}, fmt.Errorf("no service %q in the applied revision; durable status lists them", in.Service)
	}
	s := st.Services[svc]
	warm := map[string][]string{} // release → its warm placements (stage/target)
	for _, ps := range s.Placements {
		for _, set := range ps.Sets {
			if set.State == api.SetWarm && (in.Stage == "" || ps.Stage == in.Stage) {
				warm[set.Release] = append(warm[set.Release], ps.Stage+"/"+ps.Target)
			}
		}
	}
	release := in.Release
	if release == "" {
		releases := slices.Sorted(maps.Keys(warm))
		switch len(releases) {
		case 0:
			return api.RollbackResult{}, fmt.Errorf("no warm set of %s runs%s: name the release to go back to (--to RELEASE; durable history lists them)", in.Service, inStage(in.Stage))
		case 1:
			release = releases[0]
		default:
			return api.RollbackResult{}, fmt.Errorf("warm sets of %s run %d releases%s (%s): name one with --to", in.Service, len(releases), inStage(in.Stage), strings.Join(shorts(releases), ", "))
		}
	} else if m := matching(append(slices.Collect(maps.Keys(warm)), s.Release), release); len(m) > 0 && !slices.ContainsFunc(m, func(r string) bool { return r != m[0] }) {
		release = m[0] // a prefix of a warm release, or of the one wanted, names it
	} else if len(release) != 64 {
		return api.RollbackResult{}, fmt.Errorf("release %s is not the prefix of one warm set's release of %s%s: give its whole id (64 hex digits; durable history lists them)", release, in.Service, inStage(in.Stage))
	}
	if release == s.Release {
		return api.RollbackResult{}, fmt.Errorf("%s already wants release %s: nothing to roll back", in.Service, short(release))
	}
	out := api.RollbackResult{Service: in.Service, Stage: in.Stage, Release: release, Warm: warm[release]}
	if out.Stage == "" && len(out.Warm) > 0 {
		out.Stage, _, _ = strings.Cut(out.Warm[0], "/")
	}
	if len(out.Warm) > 0 {
		out.Message = fmt.Sprintf("warm sets run release %s on %s: the reconciler switches their traffic on the pass after it fetches the commit, with no new set", short(release), strings.Join(out.Warm, ", "))
	} else {
		out.Message = fmt.Sprintf("no warm set runs release %s: it rolls out as a new release, stage by stage", short(release))
	}
	return out, nil
}

func matching(releases []string, prefix string) []string {
	var out []string
	for _, r := range releases {
		if strings.HasPrefix(r, prefix) {
			out = append(out, r)
		}
	}
	return out
}

func shorts(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = short(id)
	}
	return out
}

func short(id string) string { return id[:min(12, len(id))] }

func inStage(stage string) string {
	if stage == "" {
		return ""
	}
	return " in stage " + stage
}

// Rollback asks the reconciler to commit service's fields back to a
// release (durable rollback; a write).
func (c *Client) Rollback(ctx context.Context, in api.RollbackRequest) (api.RollbackResult, error) {
	var out api.RollbackResult
	body, err := json.Marshal(in)
	if err != nil {
		return out, err
	}
	return out, c.send(ctx, http.MethodPost, "/v1/rollback", strings.NewReader(string(body)), &out)
}
