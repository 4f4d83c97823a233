package access

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// emptyRepo is a Git repository with no commit yet: the reconciler runs
// and serves its API, with nothing to apply.
func emptyRepo(t *testing.T, dir string) string {
	t.Helper()
	repo := filepath.Join(dir, "repo")
	if out, err := exec.Command("git", "init", "-q", "-b", "main", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	return repo
}

// runFlags are the flags of `durable run` on repo with its state in
// state, then extra: the reconciler is given no trust file, for nothing
// is signed here (verifyFlags says so to a durable run that asks).
func runFlags(repo, state string, extra ...string) []string {
	return append(append([]string{"--repo", repo, "--state", state}, verifyFlags...), extra...)
}

// verifyFlags tell durable run how to verify what it runs: nothing, here:
// the tests are about who may call, not what runs.
var verifyFlags = []string{"--insecure-skip-verify"}

// tokenFile writes a token file holding a read and a write token.
func tokenFile(t *testing.T, path string) (read, write string) {
	t.Helper()
	read, err := harness.WriteTokenFile(path, "read")
	if err != nil {
		t.Fatal(err)
	}
	if write, err = harness.WriteTokenFile(path, "write"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("# the operator's tokens\nread "+read+"\nwrite "+write+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return read, write
}

// Issue 13, item 5: the reconciler's API had no authentication; any local
// user could trigger. Now a write needs a write token even on loopback;
// reads on loopback need none.
func TestANeighbourCannotTriggerTheReconciler(t *testing.T) {
	nobody := asNobody(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := sharedDir(t)
	tf := filepath.Join(dir, "api-tokens")
	read, write := tokenFile(t, tf)
	log := filepath.Join(dir, "reconciler.log")
	rec, addr, err := harness.StartReconciler(ctx, e2etest.Bin, log,
		runFlags(emptyRepo(t, dir), filepath.Join(dir, "state"), "--listen", "127.0.0.1:0", "--token-file", tf)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Stop(10 * time.Second) })
	for _, tc := range []struct{ name, method, path, token, want string }{
		{"trigger without a token", "POST", "/v1/trigger", "", `401 Bearer realm="durable API"`},
		{"trigger with a wrong token", "POST", "/v1/trigger", strings.Repeat("y", 64), `401 Bearer realm="durable API", error="invalid_token"`},
		{"trigger with a read token", "POST", "/v1/trigger", read, `403`},
		{"status without a token", "GET", "/v1/status", "", `200`},
		{"trigger with a write token", "POST", "/v1/trigger", write, `202`},
	} {
		if got := nobody.call(t, tc.method, addr, tc.path, "", tc.token); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want %s", tc.name, got, tc.want)
		}
	}
	if got := nobody.call(t, "POST", addr, "/v1/trigger", "", ""); !strings.Contains(got, "--token-file") {
		t.Errorf("the refusal does not name the fix: %q", got)
	}
	b, _ := os.ReadFile(log)
	if strings.Contains(string(b), read) || strings.Contains(string(b), write) {
		t.Fatalf("the reconciler's log shows a token:\n%s", b)
	}
}

// Without --token-file, durable run creates STATE/api-tokens (0600) with a
// write token, logs its path and not the token, and durable status reads
// it.
func TestRunCreatesItsTokenFile(t *testing.T) {
	nobody := asNobody(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := sharedDir(t)
	state := filepath.Join(dir, "state")
	log := filepath.Join(dir, "reconciler.log")
	rec, addr, err := harness.StartReconciler(ctx, e2etest.Bin, log, runFlags(emptyRepo(t, dir), state, "--listen", "127.0.0.1:0")...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Stop(10 * time.Second) })
	tf := filepath.Join(state, "api-tokens")
	fi, err := os.Stat(tf)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, %v; want mode 0600", tf, fi, err)
	}
	text, _ := os.ReadFile(tf)
	token := regexp.MustCompile(`(?m)^write (\S+)$`).FindSubmatch(text)
	if token == nil {
		t.Fatalf("no write token in %s", tf)
	}
	b, _ := os.ReadFile(log)
	if !strings.Contains(string(b), tf) || strings.Contains(string(b), string(token[1])) {
		t.Fatalf("the log should name %s and never show its token:\n%s", tf, b)
	}
	if got := nobody.call(t, "POST", addr, "/v1/trigger", "", ""); !strings.HasPrefix(got, "401") {
		t.Fatalf("nobody's trigger: %q, want 401", got)
	}
	out, err := exec.CommandContext(ctx, e2etest.Bin, "status", "--api", addr, "--token-file", tf, "-o", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("durable status with the created token file: %v\n%s", err, out)
	}
}

// A non-loopback --listen without TLS is refused with the fix; with TLS it
// serves, every call needs a token, and a client with --tls-ca works.
func TestAPublicListenNeedsTLS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := sharedDir(t)
	repo := emptyRepo(t, dir)
	out, err := exec.CommandContext(ctx, e2etest.Bin, append([]string{"run"}, runFlags(repo, filepath.Join(dir, "refused"), "--listen", "0.0.0.0:0")...)...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--tls-cert and --tls-key") {
		t.Fatalf("durable run --listen 0.0.0.0:0 without TLS: %v\n%s", err, out)
	}
	cert, key := selfSigned(t, dir)
	tf := filepath.Join(dir, "api-tokens")
	tokenFile(t, tf)
	rec, err := harness.StartChild("reconciler", e2etest.Bin, filepath.Join(dir, "reconciler.log"), append([]string{"run"},
		runFlags(repo, filepath.Join(dir, "state"), "--listen", "0.0.0.0:0", "--tls-cert", cert, "--tls-key", key, "--token-file", tf)...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Stop(10 * time.Second) })
	m, err := rec.WaitListening(ctx, regexp.MustCompile(`api=https://\S*:(\d+)`))
	if err != nil {
		t.Fatal(err)
	}
	api := "https://127.0.0.1:" + m[0]
	status := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, e2etest.Bin, append([]string{"status", "-o", "json", "--api", api}, args...)...)
		cmd.Env = append(os.Environ(), "DURABLE_TOKEN_FILE=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := status("--tls-ca", cert, "--token-file", tf); err != nil {
		t.Fatalf("status over TLS with the CA and a token: %v\n%s", err, out)
	}
	if out, err := status("--tls-ca", cert); err == nil || !strings.Contains(out, "401") && !strings.Contains(out, "--token-file") {
		t.Fatalf("status over TLS without a token: %v\n%s", err, out)
	}
	if out, err := status("--token-file", tf); err == nil || !strings.Contains(out, "certificate") {
		t.Fatalf("status without --tls-ca: %v\n%s", err, out)
	}
}

// --token-for-reads: on loopback, reads need a token too.
func TestReadsCanNeedATokenOnLoopback(t *testing.T) {
	nobody := asNobody(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := sharedDir(t)
	tf := filepath.Join(dir, "api-tokens")
	read, _ := tokenFile(t, tf)
	rec, addr, err := harness.StartReconciler(ctx, e2etest.Bin, filepath.Join(dir, "reconciler.log"),
		runFlags(emptyRepo(t, dir), filepath.Join(dir, "state"), "--listen", "127.0.0.1:0", "--token-file", tf, "--token-for-reads")...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Stop(10 * time.Second) })
	if got := nobody.call(t, "GET", addr, "/v1/status", "", ""); !strings.HasPrefix(got, "401") {
		t.Errorf("status without a token: %q, want 401", got)
	}
	if got := nobody.call(t, "GET", addr, "/v1/journal", "", read); !strings.HasPrefix(got, "200") {
		t.Errorf("journal with a read token: %q, want 200", got)
	}
	// Prometheus' scrape is a read like any other.
	if got := nobody.call(t, "GET", addr, "/metrics", "", ""); !strings.HasPrefix(got, "401") {
		t.Errorf("metrics without a token: %q, want 401", got)
	}
	if got := nobody.call(t, "GET", addr, "/metrics", "", read); !strings.HasPrefix(got, "200") || !strings.Contains(got, "durable_") {
		t.Errorf("metrics with a read token: %q, want 200 with Durable's series", got)
	}
}

// On a Unix socket the API's mode 0660 is the credential: another user
// cannot connect at all; the socket's owner (and group) may call it.
func TestTheAPIOnASocket(t *testing.T) {
	nobody := asNobody(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := sharedDir(t)
	api := "unix://" + filepath.Join(dir, "api.sock")
	rec, err := harness.StartChild("reconciler", e2etest.Bin, filepath.Join(dir, "reconciler.log"), append([]string{"run"},
		runFlags(emptyRepo(t, dir), filepath.Join(dir, "state"), "--listen", api)...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Stop(10 * time.Second) })
	if _, err := rec.WaitListening(ctx, regexp.MustCompile(`api=(unix://\S+)`)); err != nil {
		t.Fatal(err)
	}
	if got := nobody.call(t, "POST", api, "/v1/trigger", "", ""); got != "refused 13" {
		t.Fatalf("nobody's trigger on the socket: %q, want refused 13 (EACCES)", got)
	}
	cmd := exec.CommandContext(ctx, e2etest.Bin, "status", "--api", api, "-o", "json")
	cmd.Env = append(os.Environ(), "DURABLE_TOKEN_FILE=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("durable status on the socket: %v\n%s", err, out)
	}
}
