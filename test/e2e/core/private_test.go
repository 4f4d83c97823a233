package core

import (
	"context"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/sshdtest"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestPrivateRepositoryOverSSH serves the fixture's repository through a
// real sshd: the reconciler, given the ssh:// URL, a key and a known hosts
// file, converges v1 then v2, and neither what it keeps and logs nor any
// command line holds the key. Given a key others can read it does not
// start; facing a host key other than the known one it fetches nothing; both
// say why, naming the file, and show no part of the key.
func TestPrivateRepositoryOverSSH(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	srv := sshdtest.Start(t)
	url := srv.URL(t, f.Repo.Dir)
	// The last --repo wins: the fixture's path gives way to its ssh:// URL.
	f.ExtraArgs = append(f.ExtraArgs, "--repo", url, "--git-ssh-key", srv.Key, "--git-known-hosts", srv.KnownHosts)
	st, _ := f.ServeV1(ctx, "Deploy web v1 from a private repository")
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy v2, fetched over ssh")
	f.Converge(ctx, st, "deploy v2 over ssh", c2, "v2")
	st.AssertNoFailedRequests(t)

	body := sshdtest.KeyBody(t, srv.Key)
	f.AssertNoSecretKept(ctx, t, body...)
	assertNoCommandLineHolds(t, body)

	dir := t.TempDir()
	loose := filepath.Join(dir, "id_loose")
	data, err := os.ReadFile(srv.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(loose, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	out := runUntil(ctx, t, "chmod 600 "+loose, "--repo", url, "--git-ssh-key", loose, "--git-known-hosts", srv.KnownHosts, "--state", filepath.Join(dir, "s1"))
	assertNoneOf(t, "the output of durable run with a loose key", out, body)

	sshdtest.Keygen(t, filepath.Join(dir, "other_host"))
	pub, err := os.ReadFile(filepath.Join(dir, "other_host.pub"))
	if err != nil {
		t.Fatal(err)
	}
	impostor := filepath.Join(dir, "known_hosts")
	line := "[127.0.0.1]:" + srv.Port + " " + strings.Join(strings.Fields(string(pub))[:2], " ") + "\n"
	if err := os.WriteFile(impostor, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	out = runUntil(ctx, t, "does not match its key in known hosts file "+impostor, "--repo", url, "--git-ssh-key", srv.Key, "--git-known-hosts", impostor, "--state", filepath.Join(dir, "s2"))
	if !strings.Contains(out, "127.0.0.1:"+srv.Port) {
		t.Errorf("the mismatch does not name the host:\n%s", out)
	}
	assertNoneOf(t, "the output of durable run facing another host key", out, body)
}

// TestPrivateRepositoryWithToken serves the fixture's repository over
// HTTP (git http-backend on loopback) to basic auth with a token alone: the
// reconciler given --git-token-file converges v1 then v2; the token is in
// no process's command line while it fetches, nor in what it keeps and
// logs. A token the server refuses is reported naming the file, not the
// token.
func TestPrivateRepositoryWithToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	const token = "ghs_E2eTokenThatMustNeverShow"
	var leaked atomic.Bool
	url := tokenGitServer(t, f.Repo.Dir, token, &leaked)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.ExtraArgs = append(f.ExtraArgs, "--repo", url, "--git-token-file", tokenFile)
	st, _ := f.ServeV1(ctx, "Deploy web v1 from a private repository")
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy v2, fetched with a token")
	f.Converge(ctx, st, "deploy v2 with a token", c2, "v2")
	st.AssertNoFailedRequests(t)
	f.AssertNoSecretKept(ctx, t, token)
	if leaked.Load() {
		t.Error("the token was on a process's command line during a fetch")
	}

	wrong := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrong, []byte("ghs_NotTheRightOne\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := runUntil(ctx, t, "the server refused the token in "+wrong, "--repo", url, "--git-token-file", wrong, "--state", filepath.Join(dir, "s1"))
	assertNoneOf(t, "the output of durable run with a wrong token", out, []string{"ghs_NotTheRightOne", token})

	// A password in the URL itself (which ps shows: prefer the token file)
	// is left out of the log.
	inURL := strings.Replace(url, "http://", "http://x-access-token:ghs_InTheURL@", 1)
	out = runUntil(ctx, t, "reconciler running", "--repo", inURL, "--state", filepath.Join(dir, "s2"))
	assertNoneOf(t, "the log of durable run with a password in the URL", out, []string{"ghs_InTheURL"})
}

// tokenGitServer serves the repository at repo with git http-backend on
// 127.0.0.1 to basic auth with the token as password, and returns its URL.
// Every request looks for the token on every process's command line.
func tokenGitServer(t *testing.T, repo, token string, leaked *atomic.Bool) string {
	t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + filepath.Dir(repo), "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if commandLineHolds(token) {
			leaked.Store(true)
		}
		if _, pass, ok := r.BasicAuth(); !ok || pass != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		r = r.Clone(r.Context())
		r.Header.Del("Authorization") // not into the CGI's environment
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(repo)
}

// commandLineHolds reports whether any process's command line holds s.
func commandLineHolds(s string) bool {
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil && strings.Contains(string(data), s) {
			return true
		}
	}
	return false
}

// runUntil runs durable run with args until its output says want (or it
// exits, or 30s pass), then stops it and returns the output.
func runUntil(ctx context.Context, t *testing.T, want string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e2etest.Bin, append([]string{"run", "--insecure-skip-verify", "--listen", "127.0.0.1:0", "--interval", "1s"}, args...)...)
	buf := &sshdtest.Buffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
		case <-ctx.Done():
			<-done
		case <-tick.C:
			if !strings.Contains(buf.String(), want) {
				continue
			}
			_ = cmd.Process.Kill()
			<-done
		}
		text := buf.String()
		if !strings.Contains(text, want) {
			t.Fatalf("durable run %s did not say %q:\n%s", strings.Join(args, " "), want, text)
		}
		t.Logf("durable run said %q, as wanted:\n%s", want, text)
		return text
	}
}

func assertNoneOf(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s holds a secret (part of the key, or the token)", what)
		}
	}
}

// assertNoCommandLineHolds checks the command line of every process.
func assertNoCommandLineHolds(t *testing.T, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if commandLineHolds(s) {
			t.Errorf("a process's command line holds part of the private key")
		}
	}
}
