// Package gittest runs the git command in tests, deaf to the host's
// configuration, for the packages that test against real repositories
// (source, queue).
package gittest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Env makes the git command usable on a bare machine (an author and a
// committer) and deaf to the host's and the user's configuration, for the
// rest of the test.
func Env(t testing.TB) {
	t.Helper()
	t.Setenv("GIT_AUTHOR_NAME", "Test Author")
	t.Setenv("GIT_AUTHOR_EMAIL", "author@example.test")
	t.Setenv("GIT_COMMITTER_NAME", "Test Committer")
	t.Setenv("GIT_COMMITTER_EMAIL", "committer@example.test")
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
}

// Run runs git with args in dir and returns its output, trimmed; it fails
// the test, with the output, when git fails.
func Run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
