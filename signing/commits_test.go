package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	"golang.org/x/crypto/ssh"
)

// sshsigSigner signs Git objects the way `git commit -S` with
// gpg.format=ssh does (ssh-keygen -Y sign -n git), in process.
type sshsigSigner struct {
	key       ssh.Signer
	namespace string
	alg       string // signature algorithm for RSA keys; "" for the key's own
}

func (s sshsigSigner) Sign(message io.Reader) ([]byte, error) {
	return signSSHSIG(s.key, message, s.namespace, s.alg)
}

// tamperingSigner signs something other than the commit.
type tamperingSigner struct{ inner git.Signer }

func (s tamperingSigner) Sign(message io.Reader) ([]byte, error) {
	return s.inner.Sign(io.MultiReader(message, strings.NewReader("tampered")))
}

// openpgpSigner signs like go-git's SignKey, through the Signer interface.
type openpgpSigner struct{ key *openpgp.Entity }

func (s openpgpSigner) Sign(message io.Reader) ([]byte, error) {
	var b bytes.Buffer
	err := openpgp.ArmoredDetachSign(&b, s.key, message, nil)
	return b.Bytes(), err
}

// commitKeys are the signers of the commit tests and a trust listing some.
type commitKeys struct {
	alice, mallory *openpgp.Entity // alice is trusted
	carol, eve     ssh.Signer      // carol is trusted
	rsa            ssh.Signer      // trusted
	trust          CommitTrust
}

func newCommitKeys(t *testing.T, mode CommitMode) commitKeys {
	t.Helper()
	var k commitKeys
	var err error
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA}
	if k.alice, err = openpgp.NewEntity("Alice", "", "alice@example.com", cfg); err != nil {
		t.Fatal(err)
	}
	if k.mallory, err = openpgp.NewEntity("Mallory", "", "mallory@example.com", cfg); err != nil {
		t.Fatal(err)
	}
	newSSH := func() ssh.Signer {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	k.carol, k.eve = newSSH(), newSSH()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if k.rsa, err = ssh.NewSignerFromKey(rsaKey); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	var asc bytes.Buffer
	w, err := armor.Encode(&asc, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.alice.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	writeFile(t, filepath.Join(dir, "keys", "alice.asc"), asc.String())
	writeFile(t, filepath.Join(dir, "keys", "allowed_signers"),
		"carol@example.com namespaces=\"git\" "+string(ssh.MarshalAuthorizedKey(k.carol.PublicKey()))+
			"\"rsa@example.com,ops@example.com\" "+string(ssh.MarshalAuthorizedKey(k.rsa.PublicKey())))
	writeFile(t, filepath.Join(dir, "trust.yaml"), fmt.Sprintf("commits:\n  mode: %s\n  openpgp: [keys/alice.asc]\n  ssh: keys/allowed_signers\n", mode))
	tr, err := LoadTrust(filepath.Join(dir, "trust.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	k.trust = tr.Commits
	return k
}

// testRepo is a real Git repository in a temporary folder.
type testRepo struct {
	repo *git.Repository
	dir  string
	when time.Time
	n    int
}

func newRepo(t *testing.T) *testRepo {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	return &testRepo{repo: repo, dir: dir, when: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
}

// commit adds a file and commits it, signed by signer (nil: unsigned), on
// top of parents (none: HEAD), a minute after the previous commit.
func (r *testRepo) commit(t *testing.T, signer git.Signer, parents ...plumbing.Hash) plumbing.Hash {
	t.Helper()
	r.n++
	r.when = r.when.Add(time.Minute)
	wt, err := r.repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("file%d.txt", r.n)
	writeFile(t, filepath.Join(r.dir, name), fmt.Sprintf("change %d\n", r.n))
	if _, err := wt.Add(name); err != nil {
		t.Fatal(err)
	}
	who := &object.Signature{Name: "Dev", Email: "dev@example.com", When: r.when}
	h, err := wt.Commit(fmt.Sprintf("change %d", r.n), &git.CommitOptions{Author: who, Committer: who, Signer: signer, Parents: parents})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (r *testRepo) object(t *testing.T, h plumbing.Hash) *object.Commit {
	t.Helper()
	c, err := r.repo.CommitObject(h)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVerifyCommit(t *testing.T) {
	k := newCommitKeys(t, CommitsHead)
	r := newRepo(t)
	for _, tc := range []struct {
		name     string
		signer   git.Signer
		want     error
		identity string
		method   string
	}{
		{"openpgp", openpgpSigner{k.alice}, nil, "Alice <alice@example.com>", "openpgp"},
		{"ssh ed25519", sshsigSigner{key: k.carol, namespace: "git"}, nil, "carol@example.com", "ssh"},
		{"SSHSigner ed25519", SSHSigner{Key: k.carol}, nil, "carol@example.com", "ssh"},
		{"SSHSigner rsa", SSHSigner{Key: k.rsa}, nil, "rsa@example.com,ops@example.com", "ssh"},
		{"ssh rsa-sha2-512", sshsigSigner{key: k.rsa, namespace: "git", alg: ssh.KeyAlgoRSASHA512}, nil, "rsa@example.com,ops@example.com", "ssh"},
		{"unsigned", nil, ErrCommitUnsigned, "", ""},
		{"unknown openpgp key", openpgpSigner{k.mallory}, ErrCommitUntrusted, "", ""},
		{"unknown ssh key", sshsigSigner{key: k.eve, namespace: "git"}, ErrCommitUntrusted, "", ""},
		{"ssh namespace file", sshsigSigner{key: k.carol, namespace: "file"}, ErrCommitUntrusted, "", ""},
		{"ssh-rsa sha1", sshsigSigner{key: k.rsa, namespace: "git", alg: ssh.KeyAlgoRSA}, ErrCommitUntrusted, "", ""},
		{"openpgp over other bytes", tamperingSigner{openpgpSigner{k.alice}}, ErrCommitUntrusted, "", ""},
		{"ssh over other bytes", tamperingSigner{sshsigSigner{key: k.carol, namespace: "git"}}, ErrCommitUntrusted, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := r.object(t, r.commit(t, tc.signer))
			got, err := VerifyCommit(c, k.trust)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil {
				if !strings.Contains(err.Error(), c.Hash.String()) {
					t.Errorf("error %q does not name the commit", err)
				}
				t.Log(err)
				return
			}
			if got.Identity != tc.identity || got.Method != tc.method || got.Key == "" {
				t.Errorf("signer = %+v", got)
			}
		})
	}
}

func TestVerifyRange(t *testing.T) {
	k := newCommitKeys(t, CommitsStrict)
	signed := openpgpSigner{k.alice}
	r := newRepo(t)
	c1 := r.commit(t, nil) // before signing was required
	c2 := r.commit(t, signed)
	c3 := r.commit(t, sshsigSigner{key: k.carol, namespace: "git"})
	c4 := r.commit(t, nil) // slipped in between signed commits
	c5 := r.commit(t, signed)

	_, err := VerifyRange(r.repo, c2, c5, k.trust)
	if !errors.Is(err, ErrCommitUnsigned) || !strings.Contains(err.Error(), "first bad commit: commit "+c4.String()) {
		t.Fatalf("c2..c5: err = %v, want c4 named as unsigned", err)
	}
	t.Log(err)

	got, err := VerifyRange(r.repo, c4, c5, k.trust)
	if err != nil || len(got) != 1 || got[0].Commit != c5 {
		t.Errorf("c4..c5 = %+v, %v", got, err)
	}
	got, err = VerifyRange(r.repo, c1, c3, k.trust)
	if err != nil || len(got) != 2 || got[0].Commit != c2 || got[1].Commit != c3 || got[1].Signer.Method != "ssh" {
		t.Errorf("c1..c3 = %+v, %v (want c2 then c3)", got, err)
	}
	if got, err := VerifyRange(r.repo, c5, c5, k.trust); err != nil || len(got) != 0 {
		t.Errorf("c5..c5 = %+v, %v", got, err)
	}
	if _, err := VerifyRange(r.repo, plumbing.ZeroHash, c3, k.trust); !strings.Contains(fmt.Sprint(err), c1.String()) {
		t.Errorf("whole history: err = %v, want c1 named", err)
	}
}

// TestVerifyRangeMerge: merging a branch forked before the last verified
// revision brings only the branch's commits, not the history they share.
func TestVerifyRangeMerge(t *testing.T) {
	k := newCommitKeys(t, CommitsStrict)
	signed := openpgpSigner{k.alice}
	r := newRepo(t)
	base := r.commit(t, nil)
	for range 20 {
		r.commit(t, nil) // old, unsigned history
	}
	fork := r.commit(t, nil)
	feature := r.commit(t, signed, fork)
	mainHead := r.commit(t, signed, fork) // the last verified revision
	merge := r.commit(t, signed, mainHead, feature)

	got, err := VerifyRange(r.repo, mainHead, merge, k.trust)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Commit != feature || got[1].Commit != merge {
		t.Errorf("verified %+v, want feature then merge", got)
	}

	// A force push to a history that does not contain the last verified
	// revision: every commit not reachable from it is new.
	if _, err := VerifyRange(r.repo, mainHead, feature, k.trust); err != nil {
		t.Errorf("mainHead..feature: %v", err)
	}
	if _, err := VerifyRange(r.repo, feature, base, k.trust); err != nil {
		t.Errorf("rewinding to an ancestor brings no new commit: %v", err)
	}
}

func TestVerifyRangeBounds(t *testing.T) {
	k := newCommitKeys(t, CommitsStrict)
	repo, err := git.Init(memory.NewStorage(), nil)
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	store := func(parents ...plumbing.Hash) plumbing.Hash {
		when = when.Add(time.Second)
		who := object.Signature{Name: "Dev", Email: "dev@example.com", When: when}
		c := &object.Commit{Author: who, Committer: who, Message: "m", TreeHash: plumbing.NewHash("4b825dc642cb6eb9a060e54bf8d69288fbee4904"), ParentHashes: parents}
		obj := repo.Storer.NewEncodedObject()
		if err := c.Encode(obj); err != nil {
			t.Fatal(err)
		}
		h, err := repo.Storer.SetEncodedObject(obj)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	first := store()
	head := first
	for range maxRangeCommits + 1 {
		head = store(head)
	}
	if _, err := VerifyRange(repo, first, head, k.trust); err == nil || !strings.Contains(err.Error(), "more than 1000 new commits") {
		t.Errorf("1001 commits: err = %v", err)
	}

	// A shallow history: the parent of the oldest new commit is missing.
	missing := plumbing.NewHash(strings.Repeat("12", 20))
	orphan := store(missing)
	_, err = VerifyRange(repo, first, store(orphan), k.trust)
	if err == nil || !strings.Contains(err.Error(), "is not in the repository") || !strings.Contains(err.Error(), missing.String()) {
		t.Errorf("shallow: err = %v", err)
	}
}

func TestVerifyRevision(t *testing.T) {
	k := newCommitKeys(t, CommitsHead)
	r := newRepo(t)
	last := r.commit(t, nil)
	r.commit(t, nil) // new and unsigned
	head := r.commit(t, openpgpSigner{k.alice})
	for _, tc := range []struct {
		mode    CommitMode
		wantErr error
		count   int
	}{
		{CommitsOff, nil, 0},
		{CommitsHead, nil, 1},
		{CommitsStrict, ErrCommitUnsigned, 0},
		{"", nil, 0},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			trust := k.trust
			trust.Mode = tc.mode
			got, err := VerifyRevision(r.repo, last, head, trust)
			if tc.mode == "" {
				if err == nil {
					t.Error("no mode: verified without error")
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || (err == nil && len(got) != tc.count) {
				t.Errorf("verdicts %+v, err %v; want %d, %v", got, err, tc.count, tc.wantErr)
			}
		})
	}
}

// TestVerifyCommitGitSSH checks interoperability with OpenSSH and Git: a
// commit signed by the real git binary with an ssh-keygen key verifies, and
// ssh-keygen accepts the signatures of SSHSigner, which Durable's own
// commits carry.
func TestVerifyCommitGitSSH(t *testing.T) {
	gitBin, sshKeygen := lookPath(t, "git"), lookPath(t, "ssh-keygen")
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	run(t, dir, sshKeygen, "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key)
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "allowed_signers"), "git@example.com "+string(pub))
	writeFile(t, filepath.Join(dir, "trust.yaml"), "commits:\n  mode: head\n  ssh: allowed_signers\n")
	tr, err := LoadTrust(filepath.Join(dir, "trust.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	work := filepath.Join(dir, "repo")
	run(t, dir, gitBin, "init", "-q", work)
	run(t, work, gitBin, "-c", "user.name=Git", "-c", "user.email=git@example.com", "-c", "gpg.format=ssh",
		"-c", "user.signingkey="+key, "commit", "-q", "-S", "--allow-empty", "-m", "signed by git")
	repo, err := git.PlainOpen(work)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(head.Hash())
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyCommit(c, tr.Commits)
	if err != nil {
		t.Fatal(err)
	}
	if got.Identity != "git@example.com" || got.Method != "ssh" {
		t.Errorf("signer = %+v", got)
	}

	// SSHSigner's output (Durable's own commits), checked by OpenSSH itself.
	raw, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	message := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nmessage\n"
	sig, err := SSHSigner{Key: signer}.Sign(strings.NewReader(message))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "message.sig"), string(sig))
	cmd := runCmd(dir, sshKeygen, "-Y", "verify", "-f", filepath.Join(dir, "allowed_signers"), "-I", "git@example.com", "-n", "git", "-s", filepath.Join(dir, "message.sig"))
	cmd.Stdin = strings.NewReader(message)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y verify rejects the test signer: %v\n%s", err, out)
	}
}

// lookPath finds a program; missing, it skips the test on a developer's machine
// and fails it under CI=true, where hack/install-deps.sh must have installed it.
func lookPath(t *testing.T, program string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil && os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed: %v; run hack/install-deps.sh", program, err)
	}
	if err != nil {
		t.Skipf("%s is not installed: %v; run hack/install-deps.sh", program, err)
	}
	return p
}

// runCmd prepares a command isolated from the user's Git configuration.
func runCmd(dir, program string, args ...string) *exec.Cmd {
	cmd := exec.Command(program, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
	return cmd
}

func run(t *testing.T, dir, program string, args ...string) {
	t.Helper()
	if out, err := runCmd(dir, program, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", program, strings.Join(args, " "), err, out)
	}
}
