package queue

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"golang.org/x/crypto/ssh"

	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/internal/gittest"
	"github.com/durable-delivery/durable/signing"
	"github.com/durable-delivery/durable/source"
)

// digest is a well-formed artifact digest numbered n.
func digest(n int) string { return fmt.Sprintf("%064x", n) }

// releaseFile declares n services' artifacts on adjacent lines, each at
// the version given (0 when missing).
func releaseFile(n int, versions map[int]int) string {
	var b strings.Builder
	b.WriteString("package quickstart\n\n// The releases, one line each.\n")
	for i := range n {
		fmt.Fprintf(&b, "services: svc%d: artifact: \"127.0.0.1:5000/quickstart/web@sha256:%s\"\n", i, digest(versions[i]))
	}
	return b.String()
}

// servicesFile declares how n services run, after the quickstart's web.
func servicesFile(n int) string {
	var b strings.Builder
	b.WriteString("package quickstart\n\n")
	for i := range n {
		fmt.Fprintf(&b, "services: svc%d: {\n\trun: replicas: 2\n\thealth: path: \"/healthz\"\n}\n", i)
	}
	return b.String()
}

// desiredRepo is a work tree whose main holds the quickstart example
// (targets, policies and their tests) with n services in release.cue, and
// a bare repository the queue works on, cloned from it.
type desiredRepo struct {
	work, bare string
}

func newDesiredRepo(t testing.TB, n int) desiredRepo {
	t.Helper()
	gittest.Env(t)
	root := t.TempDir()
	r := desiredRepo{work: filepath.Join(root, "work"), bare: filepath.Join(root, "desired.git")}
	if err := os.CopyFS(r.work, examples.Quickstart()); err != nil {
		t.Fatal(err)
	}
	for _, drop := range []string{"app", "service.cue"} {
		if err := os.RemoveAll(filepath.Join(r.work, drop)); err != nil {
			t.Fatal(err)
		}
	}
	writeFiles(t, r.work, map[string]string{"release.cue": releaseFile(n, nil), "service.cue": servicesFile(n)})
	gittest.Run(t, r.work, "init", "-q", "-b", "main")
	gittest.Run(t, r.work, "add", "-A")
	gittest.Run(t, r.work, "commit", "-q", "-m", "first")
	gittest.Run(t, root, "clone", "-q", "--bare", r.work, r.bare)
	gittest.Run(t, r.work, "remote", "add", "q", r.bare)
	return r
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// propose pushes a branch forked from the bare repository's main with
// files changed, committed with args (e.g. -S), and returns its commit.
func (r desiredRepo) propose(t testing.TB, branch string, files map[string]string, commitArgs ...string) string {
	t.Helper()
	gittest.Run(t, r.work, "fetch", "-q", "q", "main")
	gittest.Run(t, r.work, "checkout", "-q", "-B", "p", "FETCH_HEAD")
	writeFiles(t, r.work, files)
	gittest.Run(t, r.work, "add", "-A")
	gittest.Run(t, r.work, append([]string{"commit", "-q", "-m", "change " + branch}, commitArgs...)...)
	gittest.Run(t, r.work, "push", "-q", "q", "p:refs/heads/"+branch)
	return gittest.Run(t, r.work, "rev-parse", "HEAD")
}

// file reads a file of main's tree in the bare repository.
func (r desiredRepo) file(t testing.TB, rev, name string) string {
	t.Helper()
	return gittest.Run(t, r.bare, "show", rev+":"+name)
}

// sshKey writes an ed25519 private key (0600) and returns its path and
// the allowed-signers line for it.
func sshKey(t testing.TB, identity string) (string, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return file, identity + " " + string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
}

// commitTrust writes a trust file wanting every new commit signed by one
// of allowed, and loads it.
func commitTrust(t testing.TB, allowed ...string) signing.CommitTrust {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "allowed_signers"), []byte(strings.Join(allowed, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "trust.yaml"), []byte("commits:\n  mode: strict\n  ssh: allowed_signers\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	trust, err := signing.LoadTrust(filepath.Join(dir, "trust.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return trust.Commits
}

// signArgs are git commit's arguments that sign with key over SSH.
func signArgs(key string) []string {
	return []string{"-S", "--gpg-sign=" + key}
}

// newRunner is a runner on r with a fresh store; cfg's zero fields
// take the defaults.
func newRunner(t testing.TB, r desiredRepo, cfg Config) *Runner {
	t.Helper()
	st, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Repo, cfg.Store = r.bare, st
	run, err := NewRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// drain makes passes until no proposal is live.
func drain(t testing.TB, run *Runner) []Proposal {
	t.Helper()
	ps, err := run.Drain(context.Background())
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	return ps
}

func sourceSigner(key string) (git.Signer, error) { return source.CommitSigner(key) }
