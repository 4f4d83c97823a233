package listener

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGuardScopes(t *testing.T) {
	tokens, err := parseTokens([]byte("read " + aRead + "\nwrite " + aWrite + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	loopback := Guard(ok, Policy{Tokens: tokens, OpenReads: true, Realm: "api"})
	closed := Guard(ok, Policy{Tokens: tokens, Realm: "api"})
	socket := Guard(ok, Policy{OpenReads: true, OpenWrites: true})
	for _, tc := range []struct {
		name    string
		h       http.Handler
		method  string
		path    string
		auth    string
		want    int
		wantHdr string
	}{
		{"loopback read, no token", loopback, "GET", "/v1/status", "", 204, ""},
		{"loopback write, no token", loopback, "POST", "/v1/trigger", "", 401, `Bearer realm="api"`},
		{"loopback write, read token", loopback, "POST", "/v1/trigger", "Bearer " + aRead, 403, ""},
		{"loopback write, write token", loopback, "POST", "/v1/trigger", "Bearer " + aWrite, 204, ""},
		{"loopback delete, read token", loopback, "DELETE", "/v1/splits/web", "Bearer " + aRead, 403, ""},
		{"loopback read, wrong token", loopback, "GET", "/v1/status", "Bearer " + aWrite + "x", 401, `error="invalid_token"`},
		{"basic auth", loopback, "POST", "/v1/trigger", "Basic " + aWrite, 401, `error="invalid_request"`},
		{"lowercase bearer", loopback, "POST", "/v1/trigger", "bearer " + aWrite, 204, ""},
		{"empty bearer", loopback, "POST", "/v1/trigger", "Bearer ", 401, ""},
		{"huge bearer", loopback, "POST", "/v1/trigger", "Bearer " + strings.Repeat("a", 1<<16), 401, ""},
		{"closed read, no token", closed, "GET", "/v1/status", "", 401, "Bearer"},
		{"closed read, read token", closed, "GET", "/v1/status", "Bearer " + aRead, 204, ""},
		{"closed healthz", closed, "GET", "/healthz", "", 204, ""},
		{"closed healthz by POST", closed, "POST", "/healthz", "", 401, ""},
		{"socket write", socket, "PUT", "/v1/splits/web", "", 204, ""},
		{"socket write, unknown token", socket, "PUT", "/v1/splits/web", "Bearer " + aWrite, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, req)
			if rec.Code != tc.want || !strings.Contains(rec.Header().Get("WWW-Authenticate"), tc.wantHdr) {
				t.Fatalf("%d %q, want %d %q: %s", rec.Code, rec.Header().Get("WWW-Authenticate"), tc.want, tc.wantHdr, rec.Body)
			}
			if tc.want >= 400 && (!strings.Contains(rec.Body.String(), `"error"`) || strings.Contains(rec.Body.String(), aWrite)) {
				t.Fatalf("refusal body %s: want a JSON error that shows no token", rec.Body)
			}
		})
	}
}
