package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/internal/listener"
	"github.com/durable-delivery/durable/server/webhook"
)

// durable run refuses a webhook secret file others may read or write, a
// short or many-line secret, an unknown kind and a kind given twice, each
// saying why and how to fix it.
func TestRunRefusesUnsafeWebhookSecrets(t *testing.T) {
	repo, dir := t.TempDir(), t.TempDir()
	write := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "0123456789abcdef0123\n", 0o600)
	readable := write("readable", "0123456789abcdef0123\n", 0o640)
	writable := write("writable", "0123456789abcdef0123\n", 0o622)
	short := write("short", "hunter2\n", 0o600)
	lines := write("lines", "0123456789abcdef0123\nsecond line\n", 0o600)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"readable by the group", []string{"--webhook-secret-file", "github=" + readable}, "--webhook-secret-file github=" + readable + ": webhook secret file " + readable + " is open to group or others (mode 0640): any local user could read it; chmod 600 " + readable},
		{"writable by others", []string{"--webhook-secret-file", "gitea=" + writable}, "is writable by group or others (mode 0622): any local user could replace the secret and sign deliveries of their own; chmod go-w " + writable},
		{"missing", []string{"--webhook-secret-file", "gitlab=" + good + "-nope"}, "no such file or directory"},
		{"short", []string{"--webhook-secret-file", "generic=" + short}, "the secret is 7 bytes, at least 16 are needed: make one with `openssl rand -hex 32`"},
		{"two lines", []string{"--webhook-secret-file", "github=" + lines}, "more than one line"},
		{"unknown kind", []string{"--webhook-secret-file", "bitbucket=" + good}, `--webhook-secret-file "bitbucket=` + good + `": write KIND=FILE, KIND one of github, gitlab, gitea or generic`},
		{"no file", []string{"--webhook-secret-file", "github"}, "write KIND=FILE"},
		{"twice", []string{"--webhook-secret-file", "github=" + good, "--webhook-secret-file", "github=" + good}, "--webhook-secret-file github: given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := append([]string{"run", "--repo", repo, "--state", t.TempDir(), "--listen", "127.0.0.1:0", "--insecure-skip-verify"}, tc.args...)
			if got := executeWith(args, nil, &bytes.Buffer{}, &stderr); got == exitOK || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("durable run %v: exit %d, %s\nwant a failure saying %q", tc.args, got, stderr.String(), tc.want)
			}
			if strings.Contains(stderr.String(), "0123456789abcdef0123") {
				t.Errorf("the message shows the secret: %s", stderr.String())
			}
		})
	}
	secrets, err := loadWebhookSecrets([]string{"github=" + good, "gitlab=" + good})
	if err != nil || string(secrets[webhook.GitHub]) != "0123456789abcdef0123" || len(secrets) != 2 {
		t.Fatalf("loaded %q, %v: want the secret without its newline, for two kinds", secrets, err)
	}
}

// The API's token guard lets a POST to a webhook receiver through without
// a token, and nothing else: not another method, path or kind, nor a path
// that only decodes to a receiver's.
func TestWebhookDeliveriesPassTheTokenGuard(t *testing.T) {
	o := runOptions{stateDir: t.TempDir()}
	guard, err := apiPolicy(slog.New(slog.NewTextHandler(io.Discard, nil)), o)
	if err != nil {
		t.Fatal(err)
	}
	reached := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, kind := range []listener.Kind{listener.Loopback, listener.TLS} {
		h := guard(reached, kind)
		for _, c := range []struct {
			method, target string
			want           int
		}{
			{"POST", "/v1/webhooks/github", http.StatusTeapot},
			{"POST", "/v1/webhooks/gitlab", http.StatusTeapot},
			{"POST", "/v1/webhooks/gitea", http.StatusTeapot},
			{"POST", "/v1/webhooks/generic", http.StatusTeapot},
			{"POST", "/v1/trigger", http.StatusUnauthorized},
			{"POST", "/v1/webhooks/bitbucket", http.StatusUnauthorized},
			{"POST", "/v1/webhooks/github/", http.StatusUnauthorized},
			{"POST", "/v1/webhooks/github?x=1", http.StatusTeapot},
			{"POST", "/v1/webhooks%2Fgithub", http.StatusUnauthorized},
			{"POST", "/v1/webhooks/git%68ub", http.StatusUnauthorized},
			{"PUT", "/v1/webhooks/github", http.StatusUnauthorized},
			{"DELETE", "/v1/webhooks/github", http.StatusUnauthorized},
		} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(c.method, c.target, strings.NewReader("{}")))
			if rec.Code != c.want {
				t.Errorf("%s: %s %s: %d, want %d", kind, c.method, c.target, rec.Code, c.want)
			}
		}
	}
}
