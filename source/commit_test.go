package source

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/internal/gittest"
)

// A commit written by CommitFiles lands on the branch of a real repository
// with only the files named changed, and At reads an earlier commit back.
func TestCommitFilesPushesAnEditedTree(t *testing.T) {
	work, first := newRepo(t, map[string]string{"services/web.cue": "web: 1\n", "services/api.cue": "api: 1\n", "README": "hi\n"})
	bare := filepath.Join(t.TempDir(), "origin.git")
	gittest.Run(t, filepath.Dir(bare), "clone", "-q", "--bare", work, bare)
	s := newSource(t, Config{URL: bare})
	head := fetch(t, s).Commit
	if head != first {
		t.Fatalf("fetched %s, want %s", head, first)
	}
	ctx := context.Background()
	commit, err := s.CommitFiles(ctx, head, map[string][]byte{
		"services/web.cue":            []byte("web: 2\n"),
		"README":                      nil,
		"approvals/prod-abc/who.json": []byte("{}\n"),
	}, "edit\n")
	if err != nil {
		t.Fatalf("CommitFiles: %v", err)
	}
	if got := gittest.Run(t, bare, "rev-parse", "main"); got != commit {
		t.Fatalf("branch at %s, want the new commit %s", got, commit)
	}
	if got := gittest.Run(t, bare, "ls-tree", "-r", "--name-only", "main"); got != "approvals/prod-abc/who.json\nservices/api.cue\nservices/web.cue" {
		t.Fatalf("tree after the commit:\n%s", got)
	}
	if got := gittest.Run(t, bare, "show", "main:services/web.cue"); got != "web: 2" {
		t.Fatalf("services/web.cue = %q", got)
	}
	// git's own check of the objects written: trees in git's order.
	gittest.Run(t, bare, "fsck", "--strict")
	snap, err := s.At(first)
	if err != nil || readFile(t, snap.Files, "README") != "hi\n" {
		t.Fatalf("At(first) = %v, %v: want the first tree back", snap.Commit, err)
	}

	// A stale head is refused, never forced over.
	if _, err := s.CommitFiles(ctx, head, map[string][]byte{"services/web.cue": []byte("web: 3\n")}, "stale\n"); !errors.Is(err, ErrHeadMoved) {
		t.Fatalf("commit on a stale head: %v, want ErrHeadMoved", err)
	}
	for name, files := range map[string]map[string][]byte{
		"absolute":   {"/etc/passwd": []byte("x")},
		"climbing":   {"../x": []byte("x")},
		"unclean":    {"a//b": []byte("x")},
		"empty path": {"": []byte("x")},
		"nothing":    {},
		"unchanged":  {"services/api.cue": []byte("api: 1\n")},
	} {
		if _, err := s.CommitFiles(ctx, commit, files, "bad\n"); err == nil {
			t.Errorf("%s: committed, want a refusal", name)
		}
	}
	if _, err := s.At("not-a-commit"); err == nil || !strings.Contains(err.Error(), "not a commit id") {
		t.Errorf("At(not-a-commit) = %v", err)
	}
}

// CommitFilesTo pushes to another branch than the followed one: created on
// the head, never forced over; main stays; a branch name git refuses is
// refused before anything is written.
func TestCommitFilesToAnotherBranch(t *testing.T) {
	work, first := newRepo(t, map[string]string{"release.cue": "a: 1\n"})
	bare := filepath.Join(t.TempDir(), "origin.git")
	gittest.Run(t, filepath.Dir(bare), "clone", "-q", "--bare", work, bare)
	s := newSource(t, Config{URL: bare})
	head := fetch(t, s).Commit
	ctx := context.Background()
	c1, err := s.CommitFilesTo(ctx, head, "queue/release-a", map[string][]byte{"release.cue": []byte("a: 2\n")}, "a 2\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := gittest.Run(t, bare, "rev-parse", "queue/release-a"); got != c1 {
		t.Fatalf("queue branch at %s, want %s", got, c1)
	}
	if got := gittest.Run(t, bare, "rev-parse", "main"); got != first {
		t.Fatalf("main moved to %s", got)
	}
	// Another commit on main's head would rewrite the queue branch: refused.
	if _, err := s.CommitFilesTo(ctx, head, "queue/release-a", map[string][]byte{"release.cue": []byte("a: 3\n")}, "a 3\n"); err == nil {
		t.Fatal("a commit that would rewrite the queue branch (not a fast-forward) was pushed")
	}
	for _, branch := range []string{"", "queue/..", "refs/heads/x", "a b", "queue/x.lock"} {
		if _, err := s.CommitFilesTo(ctx, head, branch, map[string][]byte{"release.cue": []byte("a: 4\n")}, "bad\n"); err == nil || !strings.Contains(err.Error(), "not a valid branch name") {
			t.Errorf("branch %q: %v", branch, err)
		}
	}
}
