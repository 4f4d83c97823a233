package source

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadLocal reads revisions of a real repository by commit-ish, from
// its root and from a folder inside it, and refuses what names no commit.
func TestReadLocal(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@x.invalid",
			"GIT_COMMITTER_NAME=A", "GIT_COMMITTER_EMAIL=a@x.invalid")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	for i, text := range []string{"one", "two"} {
		if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "sub", "f.cue"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "-A")
		git("commit", "-q", "-m", "commit "+text)
		if i == 0 {
			git("tag", "v1")
		}
	}
	first := git("rev-parse", "v1")
	for _, tc := range []struct{ rev, want string }{{"HEAD", "two"}, {"main", "two"}, {"HEAD~1", "one"}, {"v1", "one"}, {first, "one"}, {first[:10], "one"}} {
		snap, err := ReadLocal(filepath.Join(dir, "sub"), tc.rev)
		if err != nil {
			t.Fatalf("%s: %v", tc.rev, err)
		}
		if b, err := fs.ReadFile(snap.Files, "sub/f.cue"); err != nil || string(b) != tc.want {
			t.Errorf("%s: sub/f.cue is %q (%v), want %q", tc.rev, b, err, tc.want)
		}
	}
	for _, rev := range []string{"", "nope", "HEAD~99", "-x", "a b", "HEAD\x00", strings.Repeat("a", 300)} {
		if _, err := ReadLocal(dir, rev); err == nil {
			t.Errorf("revision %q read", rev)
		}
	}
	if _, err := ReadLocal(t.TempDir(), "HEAD"); err == nil || !strings.Contains(err.Error(), "--repo") {
		t.Errorf("not a repository: %v", err)
	}
}
