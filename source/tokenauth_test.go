package source

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/pem"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/durable-delivery/durable/internal/gittest"
)

const testToken = "ghs_TestTokenThatMustNeverShow0123456789"

// privateGitHTTPServer serves the repositories under root with git
// http-backend, to basic auth with user TokenUser and password token alone.
// Each request looks for the token on the command line of every process
// of the machine, and counts a find in leaks.
func privateGitHTTPServer(t *testing.T, root, token string, leaks *atomic.Int32) string {
	t.Helper()
	backend := filepath.Join(gittest.Run(t, root, "--exec-path"), "git-http-backend")
	cgiHandler := &cgi.Handler{
		Path: backend,
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if commandLinesHold(token) {
			leaks.Add(1)
		}
		user, pass, ok := r.BasicAuth()
		if !ok || user != TokenUser || subtle.ConstantTimeCompare([]byte(pass), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		r = r.Clone(r.Context())
		r.Header.Del("Authorization") // not into the CGI's environment
		cgiHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// commandLinesHold reports whether any process's command line holds s.
func commandLinesHold(s string) bool {
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil && strings.Contains(string(data), s) {
			return true
		}
	}
	return false
}

func writeSecret(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFetchWithToken(t *testing.T) {
	repo, head := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	var leaks atomic.Int32
	url := privateGitHTTPServer(t, filepath.Dir(repo), testToken, &leaks) + "/" + filepath.Base(repo)
	dir := t.TempDir()
	good := writeSecret(t, dir, "token", testToken+"\n", 0o600)
	s := newSource(t, Config{URL: url, Credentials: Credentials{TokenFile: good}})
	if snap := fetch(t, s); snap.Commit != head {
		t.Fatalf("Fetch with the token = %s, want %s", snap.Commit, head)
	}
	// The file is read again at each fetch: a rotated token is used.
	if err := os.WriteFile(good, []byte("ghs_Rotated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := fetchErr(t, s)
	for _, w := range []string{"authentication required", "the server refused the token in " + good} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Fetch with a token the server refuses: %v, want it to say %q", err, w)
		}
	}
	if _, err := New(Config{URL: url, Dir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	anonymous := newSource(t, Config{URL: url})
	if err := fetchErr(t, anonymous); !strings.Contains(err.Error(), "authentication required") {
		t.Errorf("Fetch without a token: %v", err)
	}
	for _, text := range []string{err.Error(), s.URL()} {
		assertNoSecret(t, "the error or URL", text, []string{testToken, "ghs_Rotated"})
	}
	if leaks.Load() != 0 {
		t.Fatalf("the token was on a process's command line during %d requests", leaks.Load())
	}
}

// TestCredentialsRefused feeds New broken, hostile and oversized credential
// files and credentials that do not fit the URL.
func TestCredentialsRefused(t *testing.T) {
	dir := t.TempDir()
	token := writeSecret(t, dir, "token", testToken, 0o600)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	locked := writeSecret(t, dir, "locked_key", string(pem.EncodeToMemory(block)), 0o600)
	ssh := sshCredentials(t)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, url string
		creds     Credentials
		want      string
	}{
		{"world-readable token", "https://example.test/r.git", Credentials{TokenFile: writeSecret(t, dir, "t1", testToken, 0o644)}, "(mode 0644): any local user could read it; chmod 600"},
		{"group-writable token", "https://example.test/r.git", Credentials{TokenFile: writeSecret(t, dir, "t2", testToken, 0o620)}, "writable by group or others"},
		{"empty token", "https://example.test/r.git", Credentials{TokenFile: writeSecret(t, dir, "t3", "\n \n", 0o600)}, "is empty"},
		{"two lines", "https://example.test/r.git", Credentials{TokenFile: writeSecret(t, dir, "t4", testToken+"\n"+testToken+"\n", 0o600)}, "alone on one line"},
		{"control characters", "https://example.test/r.git", Credentials{TokenFile: writeSecret(t, dir, "t5", testToken+"\x1b[2J\x00", 0o600)}, "alone on one line"},
		{"header injection", "https://example.test/r.git", Credentials{TokenFile: writeSecret(t, dir, "t6", testToken+"\r\nX-Evil: 1", 0o600)}, "alone on one line"},
		{"oversized token", "https://example.test/r.git", Credentials{TokenFile: writeSecret(t, dir, "t7", strings.Repeat(testToken, 1000), 0o600)}, "larger than 16384 bytes"},
		{"token is a directory", "https://example.test/r.git", Credentials{TokenFile: dir}, "is not a regular file"},
		{"token is a FIFO", "https://example.test/r.git", Credentials{TokenFile: fifo}, "is not a regular file"},
		{"known hosts is a FIFO", "ssh://git@example.test/r.git", Credentials{SSHKey: ssh.SSHKey, KnownHosts: fifo}, "not a regular file"},
		{"missing token", "https://example.test/r.git", Credentials{TokenFile: filepath.Join(dir, "nope")}, "no such file"},
		{"token in clear", "http://example.test/r.git", Credentials{TokenFile: token}, "travel in clear"},
		{"token over ssh", "ssh://git@example.test/r.git", Credentials{TokenFile: token, SSHKey: ssh.SSHKey, KnownHosts: ssh.KnownHosts}, "use an https:// URL"},
		{"token for a local path", "/srv/repo", Credentials{TokenFile: token}, "use an https:// URL"},
		{"token and password", "https://u:pw@example.test/r.git", Credentials{TokenFile: token}, "remove the password from the URL"},
		{"ssh key for https", "https://example.test/r.git", Credentials{SSHKey: ssh.SSHKey}, "not an ssh:// URL"},
		{"known hosts for https", "https://example.test/r.git", Credentials{KnownHosts: ssh.KnownHosts}, "not an ssh:// URL"},
		{"passphrase key", "ssh://git@example.test/r.git", Credentials{SSHKey: locked, KnownHosts: ssh.KnownHosts}, "protected by a passphrase"},
		{"oversized known hosts", "ssh://git@example.test/r.git", Credentials{SSHKey: ssh.SSHKey, KnownHosts: writeSecret(t, dir, "kh_huge", strings.Repeat("# comment\n", maxKnownHostsBytes/10+1), 0o644)}, "of at most 4194304 bytes"},
		{"known hosts garbage", "ssh://git@example.test/r.git", Credentials{SSHKey: ssh.SSHKey, KnownHosts: writeSecret(t, dir, "kh", "example.test ssh-ed25519 !!!notbase64\n", 0o644)}, "kh"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{URL: tt.url, Dir: t.TempDir(), Credentials: tt.creds})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "/proc/self/fd") {
				t.Errorf("the error names the descriptor, not the file: %v", err)
			}
			assertNoSecret(t, "the error", err.Error(), []string{testToken, "passphrase\""})
			t.Log(err)
		})
	}
}
