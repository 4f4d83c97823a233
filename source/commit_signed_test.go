package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/crypto/ssh"

	"github.com/durable-delivery/durable/internal/gittest"
	"github.com/durable-delivery/durable/signing"
)

// With a commit key, the commits the source writes are signed: the trust
// file that lists the key's public half accepts them (as the reconciler
// checks a head), and so does real git (git verify-commit with ssh).
// Without the key listed they are refused, and a key that others may read
// or that is not a key stops New with the file named.
func TestCommitFilesSignsWithTheCommitKey(t *testing.T) {
	work, first := newRepo(t, map[string]string{"web.cue": "web: 1\n"})
	bare := filepath.Join(t.TempDir(), "origin.git")
	gittest.Run(t, filepath.Dir(bare), "clone", "-q", "--bare", work, bare)
	key := sshCredentials(t).SSHKey
	s := newSource(t, Config{URL: bare, CommitKey: key})
	head := fetch(t, s).Commit
	if head != first {
		t.Fatalf("fetched %s, want %s", head, first)
	}
	commit, err := s.CommitFiles(context.Background(), head, map[string][]byte{"web.cue": []byte("web: 2\n")}, "Roll web back\n")
	if err != nil {
		t.Fatalf("CommitFiles: %v", err)
	}

	raw, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(allowed, []byte("durable@localhost "+string(ssh.MarshalAuthorizedKey(signer.PublicKey()))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "trust.yaml"), []byte("commits:\n  mode: head\n  ssh: allowed_signers\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	trust, err := signing.LoadTrust(filepath.Join(dir, "trust.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainOpen(bare)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		t.Fatal(err)
	}
	if who, err := signing.VerifyCommit(c, trust.Commits); err != nil || who.Identity != "durable@localhost" {
		t.Fatalf("the trust file listing Durable's key: %+v, %v", who, err)
	}
	// git verify-commit exits non-zero, which fails the test, on a signature that does not verify.
	gittest.Run(t, bare, "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", commit)

	other := sshCredentials(t).SSHKey
	s2 := newSource(t, Config{URL: bare, Dir: filepath.Join(t.TempDir(), "cache"), CommitKey: other})
	head2 := fetch(t, s2).Commit
	c2, err := s2.CommitFiles(context.Background(), head2, map[string][]byte{"web.cue": []byte("web: 3\n")}, "by another key\n")
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := repo.CommitObject(plumbing.NewHash(c2))
	if _, err := signing.VerifyCommit(obj, trust.Commits); err == nil {
		t.Fatal("a commit signed by a key the trust file does not list was accepted")
	}

	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{URL: bare, Dir: t.TempDir(), CommitKey: key}); err == nil || !strings.Contains(err.Error(), "commit signing key") {
		t.Errorf("a commit key others may read: %v", err)
	}
	notKey := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(notKey, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{URL: bare, Dir: t.TempDir(), CommitKey: notKey}); err == nil || !strings.Contains(err.Error(), "commit signing key "+notKey+" is not a private key") {
		t.Errorf("a commit key that is not a key: %v", err)
	}
}
