package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/api"
)

// TestRollbackAPI: POST /v1/rollback picks the release from the warm sets
// when it is left out, resolves a prefix of a warm release, commits through
// the actions, and says what the reconciler will do; broken, hostile and
// oversized requests, and ones the status cannot satisfy, are refused with
// the fix and commit nothing.
func TestRollbackAPI(t *testing.T) {
	status := &dashStatus{s: statusWithGate("web", false)}
	acts := &recordedActions{}
	srv := httptest.NewServer(RollbackHandler(status, acts))
	defer srv.Close()
	client := NewClient(srv.URL)

	res, err := client.Rollback(context.Background(), api.RollbackRequest{Service: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Release != warmRel || res.Commit != commit || res.Stage != "staging" || len(res.Warm) != 1 || !strings.Contains(res.Message, "switches their traffic") {
		t.Fatalf("rollback without --to: %+v; want the warm release, its stage and the switch", res)
	}
	if res, err = client.Rollback(context.Background(), api.RollbackRequest{Service: "web", Release: warmRel[:12]}); err != nil || res.Release != warmRel {
		t.Fatalf("a prefix of the warm release: %+v, %v", res, err)
	}
	if calls := acts.list(); len(calls) != 2 || calls[0] != "rollback web staging "+warmRel {
		t.Fatalf("actions asked %q", calls)
	}

	for _, tc := range []struct {
		name, body, want string
		code             int
	}{
		{"not JSON", `{"service": "web"`, "read the rollback request", http.StatusBadRequest},
		{"an unknown field", `{"service": "web", "force": true}`, "unknown field", http.StatusBadRequest},
		{"oversized", `{"service": "` + strings.Repeat("w", 8<<10) + `"}`, "read the rollback request", http.StatusRequestEntityTooLarge},
		{"a hostile service name", `{"service": "../web\n"}`, "not a service name", http.StatusBadRequest},
		{"a release that is not hex", `{"service": "web", "release": "v1; rm -rf"}`, "not a release id", http.StatusBadRequest},
		{"an unknown service", `{"service": "api"}`, `no service "api"`, http.StatusConflict},
		{"a stage without warm sets", `{"service": "web", "stage": "prod"}`, "no warm set of web runs in stage prod", http.StatusConflict},
		{"the release it already wants", `{"service": "web", "release": "` + waiting + `"}`, "already wants", http.StatusConflict},
		{"a short release no warm set runs", `{"service": "web", "release": "dddddddddddd"}`, "give its whole id", http.StatusConflict},
	} {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(e.Error, tc.want) {
			t.Errorf("%s: %d %q; want %d and %q", tc.name, resp.StatusCode, e.Error, tc.code, tc.want)
		}
	}
	if calls := acts.list(); len(calls) != 2 {
		t.Fatalf("refused requests committed: %q", calls)
	}

	// Two warm releases: the request must name one.
	status.set(func(s *api.Status) {
		ps := &s.Services[0].Placements[0]
		ps.Sets = append(ps.Sets, api.SetStatus{ID: "web-older", Release: strings.Repeat("e", 64), State: api.SetWarm})
	})
	if _, err := client.Rollback(context.Background(), api.RollbackRequest{Service: "web"}); err == nil || !strings.Contains(err.Error(), "name one with --to") {
		t.Fatalf("two warm releases, none named: %v", err)
	}

	// A reconciler that may not commit (signed commits wanted) says what to do.
	unsigned := httptest.NewServer(RollbackHandler(status, nil))
	defer unsigned.Close()
	_, err = NewClient(unsigned.URL).Rollback(context.Background(), api.RollbackRequest{Service: "web", Release: warmRel})
	if err == nil || !strings.Contains(err.Error(), "--commit-key") {
		t.Fatalf("without actions: %v; want the reason and what to do", err)
	}
}
