package source

import (
	"context"
	"io/fs"
	"net"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/durable-delivery/durable/internal/gittest"
)

func newSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(t.TempDir(), "cache")
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func fetch(t *testing.T, s *Source) Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	snap, err := s.Fetch(ctx)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return snap
}

func fetchErr(t *testing.T, s *Source) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := s.Fetch(ctx)
	if err == nil {
		t.Fatal("Fetch succeeded, want an error")
	}
	t.Logf("Fetch error, as wanted: %v", err)
	return err
}

func readFile(t *testing.T, fsys fs.FS, name string) string {
	t.Helper()
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatalf("read %s from snapshot: %v", name, err)
	}
	return string(data)
}

func TestFetchFirstThenNewCommit(t *testing.T) {
	repo, first := newRepo(t, map[string]string{
		"app.cue":          "package app\n",
		"svc/web.yaml":     "replicas: 2\n",
		"policy/gate.rego": "package durable.gate\n",
	})
	if err := os.Chmod(filepath.Join(repo, "svc", "web.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	first = commitFiles(t, repo, "make web.yaml executable", nil)
	cache := filepath.Join(t.TempDir(), "cache")
	s := newSource(t, Config{URL: repo, Dir: cache})

	snap := fetch(t, s)
	// Depth 1: the cache holds the head commit without its parent.
	if _, err := os.Stat(filepath.Join(cache, "shallow")); err != nil {
		t.Errorf("the cache is not shallow: %v", err)
	}
	if snap.Commit != first {
		t.Errorf("Commit = %s, want %s", snap.Commit, first)
	}
	if want := gittest.Run(t, repo, "rev-parse", "HEAD^{tree}"); snap.Tree != want {
		t.Errorf("Tree = %s, want %s", snap.Tree, want)
	}
	if strings.TrimSpace(snap.Message) != "make web.yaml executable" || snap.Author != "Test Author <author@example.test>" || snap.Time.IsZero() {
		t.Errorf("snapshot metadata = %q, %q, %v", snap.Message, snap.Author, snap.Time)
	}
	if err := fstest.TestFS(snap.Files, "app.cue", "svc/web.yaml", "policy/gate.rego"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, snap.Files, "svc/web.yaml"); got != "replicas: 2\n" {
		t.Errorf("svc/web.yaml = %q", got)
	}
	if info, err := fs.Stat(snap.Files, "svc/web.yaml"); err != nil || info.Mode()&0o100 == 0 {
		t.Errorf("svc/web.yaml lost its executable bit: %v, %v", info, err)
	}

	// Unchanged: the same commit again.
	if again := fetch(t, s); again.Commit != first {
		t.Errorf("second Fetch = %s, want unchanged %s", again.Commit, first)
	}

	second := commitFiles(t, repo, "scale web", map[string]string{"svc/web.yaml": "replicas: 3\n", "policy/gate.rego": ""})
	snap = fetch(t, s)
	if snap.Commit != second {
		t.Errorf("after new commit, Commit = %s, want %s", snap.Commit, second)
	}
	if got := readFile(t, snap.Files, "svc/web.yaml"); got != "replicas: 3\n" {
		t.Errorf("svc/web.yaml = %q after the change", got)
	}
	if _, err := fs.Stat(snap.Files, "policy/gate.rego"); err == nil {
		t.Error("a removed file is still in the snapshot")
	}
	if _, err := fs.Stat(snap.Files, "policy"); err == nil {
		t.Error("an emptied directory is still in the snapshot")
	}
}

func TestFetchRevertHasEarlierTree(t *testing.T) {
	repo, _ := newRepo(t, map[string]string{"app.cue": "version: 1\n"})
	s := newSource(t, Config{URL: repo})
	before := fetch(t, s)

	commitFiles(t, repo, "version 2", map[string]string{"app.cue": "version: 2\n"})
	changed := fetch(t, s)
	if changed.Tree == before.Tree {
		t.Fatal("a change kept the tree")
	}

	gittest.Run(t, repo, "revert", "--no-edit", "HEAD")
	reverted := fetch(t, s)
	if reverted.Commit == before.Commit || reverted.Commit == changed.Commit {
		t.Errorf("revert commit %s is not new", reverted.Commit)
	}
	if reverted.Tree != before.Tree {
		t.Errorf("revert Tree = %s, want the earlier tree %s", reverted.Tree, before.Tree)
	}
	if got := readFile(t, reverted.Files, "app.cue"); got != "version: 1\n" {
		t.Errorf("app.cue after revert = %q", got)
	}
}

func TestFetchURLForms(t *testing.T) {
	repo, head := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	cases := map[string]string{
		"local path": repo,
		"file URL":   "file://" + filepath.ToSlash(repo),
		"http URL":   gitHTTPServer(t, filepath.Dir(repo)) + "/" + filepath.Base(repo),
	}
	content := "x: 1\n"
	for name, url := range cases {
		t.Run(name, func(t *testing.T) {
			s := newSource(t, Config{URL: url})
			snap := fetch(t, s)
			if snap.Commit != head || readFile(t, snap.Files, "app.cue") != content {
				t.Errorf("Fetch(%s) = %s, want %s", url, snap.Commit, head)
			}
			content = "x: " + name + "\n"
			head = commitFiles(t, repo, "next "+name, map[string]string{"app.cue": content})
			if snap := fetch(t, s); snap.Commit != head || readFile(t, snap.Files, "app.cue") != content {
				t.Errorf("second Fetch(%s) = %s, want %s", url, snap.Commit, head)
			}
		})
	}
}

// gitHTTPServer serves the repositories under root with git http-backend
// (smart HTTP) on 127.0.0.1 and returns the server's URL.
func gitHTTPServer(t *testing.T, root string) string {
	t.Helper()
	execPath := gittest.Run(t, root, "--exec-path")
	backend := filepath.Join(execPath, "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Fatalf("git http-backend is missing (%v); install git fully, it is part of it", err)
	}
	srv := httptest.NewServer(&cgi.Handler{
		Path: backend,
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull},
	})
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestFetchUnreachable(t *testing.T) {
	good, head := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	closed := closedPort(t)
	cases := map[string]struct{ url, want string }{
		"missing path": {filepath.Join(t.TempDir(), "no-such-repo"), "no-such-repo"},
		"closed port":  {"http://user:s3cret@" + closed + "/repo.git", closed},
		"no branch":    {good, "branch main"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := Config{URL: c.url}
			if name == "no branch" {
				cfg.Branch = "main"
				gittest.Run(t, good, "branch", "-q", "-m", "main", "trunk")
				t.Cleanup(func() { gittest.Run(t, good, "branch", "-q", "-m", "trunk", "main") })
			}
			s := newSource(t, cfg)
			err := fetchErr(t, s)
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %q", err, c.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
	// A good repository still fetches after the failures.
	if snap := fetch(t, newSource(t, Config{URL: good})); snap.Commit != head {
		t.Errorf("Fetch of the good repository = %s, want %s", snap.Commit, head)
	}
}

func TestFetchKeepsCacheWhenRemoteGoes(t *testing.T) {
	repo, head := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	s := newSource(t, Config{URL: repo})
	fetch(t, s)

	moved := repo + ".away"
	if err := os.Rename(repo, moved); err != nil {
		t.Fatal(err)
	}
	err := fetchErr(t, s)
	if !strings.Contains(err.Error(), repo) {
		t.Errorf("error %q does not name the URL", err)
	}
	if err := os.Rename(moved, repo); err != nil {
		t.Fatal(err)
	}
	if snap := fetch(t, s); snap.Commit != head {
		t.Errorf("Fetch after the remote came back = %s, want %s", snap.Commit, head)
	}
	next := commitFiles(t, repo, "next", map[string]string{"app.cue": "x: 2\n"})
	if snap := fetch(t, s); snap.Commit != next {
		t.Errorf("Fetch of a new commit after the outage = %s, want %s", snap.Commit, next)
	}
}

// closedPort returns a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestFetchCaps(t *testing.T) {
	repo, _ := newRepo(t, map[string]string{
		"a.cue": strings.Repeat("a", 40), "b.cue": strings.Repeat("b", 40), "c/d.cue": strings.Repeat("d", 40),
	})
	cases := map[string]struct {
		cfg  Config
		want string
	}{
		"too many files": {Config{MaxFiles: 2}, "more than 2 files (the source's MaxFiles cap)"},
		"too many bytes": {Config{MaxBytes: 100}, "exceed 100 bytes in all (the source's MaxBytes cap)"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			c.cfg.URL = repo
			err := fetchErr(t, newSource(t, c.cfg))
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
	// Exactly at the caps is fine.
	snap := fetch(t, newSource(t, Config{URL: repo, MaxFiles: 3, MaxBytes: 120}))
	if readFile(t, snap.Files, "c/d.cue") != strings.Repeat("d", 40) {
		t.Error("c/d.cue wrong at the caps")
	}
}

func TestFetchSymlinks(t *testing.T) {
	good := map[string]string{
		"real.cue":       "real: true\n",
		"link.cue":       "->real.cue",
		"sub/up.cue":     "->../real.cue",
		"sub/chain.cue":  "->up.cue",
		"sub/deep/x.cue": "->../../sub/./up.cue",
	}
	repo, _ := newRepo(t, good)
	snap := fetch(t, newSource(t, Config{URL: repo}))
	for name := range good {
		if got := readFile(t, snap.Files, name); got != "real: true\n" {
			t.Errorf("%s = %q, want the target's content", name, got)
		}
	}
	if info, err := fs.Stat(snap.Files, "link.cue"); err != nil || !info.Mode().IsRegular() {
		t.Errorf("link.cue is not a regular file in the snapshot: %v, %v", info, err)
	}
	// A resolved link's bytes count against MaxBytes.
	err := fetchErr(t, newSource(t, Config{URL: repo, MaxBytes: int64(len("real: true\n")) + 3}))
	if !strings.Contains(err.Error(), "MaxBytes") {
		t.Errorf("links past the byte cap: %v", err)
	}

	bad := map[string]struct{ link, target, want string }{
		"escaping relative": {"evil.cue", "../outside.cue", "symlink evil.cue points to ../outside.cue, outside the repository"},
		"escaping deep":     {"a/b/evil.cue", "../../../../etc/passwd", "symlink a/b/evil.cue points to ../../../../etc/passwd, outside"},
		"absolute":          {"abs.cue", "/etc/passwd", "symlink abs.cue points to absolute path /etc/passwd"},
		"dangling":          {"gone.cue", "nothing.cue", "symlink gone.cue leads to nothing.cue, which is not in the repository"},
		"to a directory":    {"dirlink", "sub", "symlink dirlink leads to directory sub"},
		"loop":              {"loop1.cue", "loop1.cue", "symlink loop1.cue: more than 40 links"},
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			repo, _ := newRepo(t, map[string]string{"sub/f.cue": "f\n", c.link: "->" + c.target})
			err := fetchErr(t, newSource(t, Config{URL: repo}))
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestFetchIgnoresSubmodules(t *testing.T) {
	repo, _ := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	other := gittest.Run(t, repo, "rev-parse", "HEAD")
	gittest.Run(t, repo, "update-index", "--add", "--cacheinfo", "160000,"+other+",vendor/lib")
	gittest.Run(t, repo, "commit", "-q", "-m", "add a gitlink")
	snap := fetch(t, newSource(t, Config{URL: repo}))
	if _, err := fs.Stat(snap.Files, "vendor/lib"); err == nil {
		t.Error("the gitlink is in the snapshot")
	}
	if readFile(t, snap.Files, "app.cue") != "x: 1\n" {
		t.Error("app.cue missing beside a gitlink")
	}
}

func TestFetchRefusesForeignCacheDir(t *testing.T) {
	repo, _ := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct{ dir, want string }{
		"non-empty directory": {full, "not empty and is not a source cache"},
		"a worktree":          {repo, "repository with a worktree"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := fetchErr(t, newSource(t, Config{URL: repo, Dir: c.dir}))
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.dir) {
				t.Errorf("error %q does not name %q and %q", err, c.dir, c.want)
			}
		})
	}
}

func TestFetchFollowsChangedURL(t *testing.T) {
	repoA, headA := newRepo(t, map[string]string{"app.cue": "a\n"})
	repoB, headB := newRepo(t, map[string]string{"app.cue": "b\n"})
	dir := filepath.Join(t.TempDir(), "cache")
	if snap := fetch(t, newSource(t, Config{URL: repoA, Dir: dir})); snap.Commit != headA {
		t.Fatalf("Fetch A = %s", snap.Commit)
	}
	if snap := fetch(t, newSource(t, Config{URL: repoB, Dir: dir})); snap.Commit != headB || readFile(t, snap.Files, "app.cue") != "b\n" {
		t.Errorf("Fetch B through A's cache = %s, want %s", snap.Commit, headB)
	}
}

// A reconciler killed while it writes the cache can leave a reference file
// empty; every later fetch would fail on it. The cache is only a cache: a
// fetch that finds it damaged removes it and fetches again from the remote.
func TestFetchRebuildsADamagedCache(t *testing.T) {
	repo, _ := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	cache := filepath.Join(t.TempDir(), "cache")
	s := newSource(t, Config{URL: repo, Dir: cache})
	fetch(t, s)
	for _, ref := range []string{"refs/remotes/origin/main", "HEAD"} {
		t.Run(ref, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(cache, filepath.FromSlash(ref)), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			next := commitFiles(t, repo, "after "+ref+" was emptied", map[string]string{"app.cue": "x: \"" + ref + "\"\n"})
			if snap := fetch(t, s); snap.Commit != next {
				t.Errorf("Fetch = %s, want %s", snap.Commit, next)
			}
			// A new Source (a restarted reconciler) on the rebuilt cache
			// fetches too.
			if snap := fetch(t, newSource(t, Config{URL: repo, Dir: cache})); snap.Commit != next {
				t.Errorf("Fetch after a restart = %s, want %s", snap.Commit, next)
			}
		})
	}
}
