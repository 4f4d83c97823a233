package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/queue"
)

// queueRepo is a bare repository whose main holds the quickstart example,
// with a branch web-v2 changing web's artifact.
func queueRepo(t *testing.T) string {
	t.Helper()
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	root := t.TempDir()
	work, bare := filepath.Join(root, "work"), filepath.Join(root, "desired.git")
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=Dev", "-c", "user.email=dev@example.test"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	if err := os.CopyFS(work, examples.Quickstart()); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(work, "app")); err != nil {
		t.Fatal(err)
	}
	git(work, "init", "-q", "-b", "main")
	git(work, "add", "-A")
	git(work, "commit", "-q", "-m", "first")
	git(root, "clone", "-q", "--bare", work, bare)
	release, err := os.ReadFile(filepath.Join(work, "release.cue"))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(release), strings.Repeat("0", 64), strings.Repeat("1", 64), 1)
	writeFiles(t, work, map[string]string{"release.cue": changed})
	git(work, "commit", "-q", "-am", "web v2")
	git(work, "push", "-q", bare, "HEAD:refs/heads/web-v2")
	return bare
}

// queue add, list and run --once land a branch; list -o json shows it
// landed; and every bad flag is refused naming the fix.
func TestQueueCommands(t *testing.T) {
	bare := queueRepo(t)
	state := t.TempDir()
	if code, out, errOut := runCLI("queue", "add", "--repo", bare, "--state", state, "web-v2"); code != exitOK || !strings.Contains(out, "queued #1 web-v2") {
		t.Fatalf("queue add: %d %s %s", code, out, errOut)
	}
	if code, out, _ := runCLI("queue", "list", "--state", state); code != exitOK || !strings.Contains(out, "web-v2") || !strings.Contains(out, "queued") {
		t.Fatalf("queue list: %d %s", code, out)
	}
	code, out, errOut := runCLI("queue", "run", "--repo", bare, "--state", state, "--once", "--insecure-skip-verify", "--metrics-listen", "127.0.0.1:0")
	if code != exitOK {
		t.Fatalf("queue run --once: %d %s %s", code, out, errOut)
	}
	code, out, _ = runCLI("queue", "list", "--state", state, "-o", "json")
	var ps []queue.Proposal
	if err := json.Unmarshal([]byte(out), &ps); code != exitOK || err != nil || len(ps) != 1 || ps[0].State != queue.Landed || ps[0].Method != queue.MethodFastForward {
		t.Fatalf("queue list -o json: %d %v %s", code, err, out)
	}
	head, err := exec.Command("git", "-C", bare, "rev-parse", "main").Output()
	if err != nil || strings.TrimSpace(string(head)) != ps[0].Head {
		t.Fatalf("main is %s, want the proposal %s (%v)", head, ps[0].Head, err)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"queue", "add", "--repo", bare, "web-v2"}, exitUsage, "--state is required"},
		{[]string{"queue", "add", "--repo", bare, "--state", state, "../etc"}, exitFailed, "not a name Git takes"},
		{[]string{"queue", "add", "--repo", bare, "--state", state, "main"}, exitFailed, "the branch proposals land on"},
		{[]string{"queue", "remove", "--state", state, "nothere"}, exitFailed, "no proposal of that branch"},
		{[]string{"queue", "run", "--repo", bare, "--state", state}, exitUsage, "--trust FILE is required"},
		{[]string{"queue", "run", "--repo", bare, "--state", state, "--insecure-skip-verify", "--depth", "0"}, exitUsage, "--depth 0: use 1 to 16"},
		{[]string{"queue", "run", "--repo", bare, "--state", state, "--insecure-skip-verify", "--depth", "17"}, exitUsage, "--depth 17: use 1 to 16"},
		{[]string{"queue", "run", "--repo", bare, "--state", state, "--insecure-skip-verify", "--check", " "}, exitUsage, "--check is empty"},
		{[]string{"queue", "run", "--repo", bare, "--state", state, "--insecure-skip-verify", "--check", "make\ntest"}, exitUsage, "line break"},
		{[]string{"queue", "run", "--repo", bare, "--state", state, "--insecure-skip-verify", "--check", "true", "--check-timeout", "0s"}, exitUsage, "--check-timeout"},
		{[]string{"queue", "run", "--repo", bare, "--state", state, "--insecure-skip-verify", "--interval", "1ns"}, exitUsage, "--interval"},
		{[]string{"queue", "run", "--repo", bare, "--state", state, "--insecure-skip-verify", "--metrics-listen", "0.0.0.0:0"}, exitFailed, "--metrics-listen"},
		{[]string{"queue", "run", "--repo", bare, "--state", state, "--trust", filepath.Join(state, "missing.yaml")}, exitFailed, "--trust"},
		{[]string{"queue", "run", "--repo", bare, "--state", state, "--insecure-skip-verify", "--commit-key", filepath.Join(state, "nokey")}, exitFailed, "--commit-key"},
		{[]string{"queue", "run", "--repo", t.TempDir(), "--state", state, "--insecure-skip-verify", "--once"}, exitFailed, "open the Git repository"},
	} {
		code, _, errOut := runCLI(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("durable %s: exit %d, %q; want exit %d and %q", strings.Join(c.args, " "), code, errOut, c.code, c.want)
		}
	}
}
