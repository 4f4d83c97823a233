package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// durable run refuses the queue's flags where they cannot work, naming
// the flag and the fix, before it starts: without --queue, beside etcd or
// Git credentials the queue cannot use, out of bounds, hostile; and a
// --repo the queue cannot open stops it rather than running without.
func TestRunQueueFlagsRefused(t *testing.T) {
	bare := queueRepo(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(key, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []string {
		return append([]string{"run", "--repo", bare, "--state", filepath.Join(dir, "state"), "--listen", "127.0.0.1:0", "--insecure-skip-verify"}, args...)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{run("--queue-depth", "2"), exitUsage, "--queue-depth needs --queue"},
		{run("--queue-check", "true"), exitUsage, "--queue-check needs --queue"},
		{run("--queue-interval", "1s"), exitUsage, "--queue-interval needs --queue"},
		{run("--queue-check-timeout", "1s"), exitUsage, "--queue-check-timeout needs --queue"},
		{run("--queue", "--etcd", "http://127.0.0.1:2379"), exitUsage, "--queue cannot go with --etcd"},
		{run("--queue", "--git-ssh-key", key), exitUsage, "--queue cannot go with --git-ssh-key"},
		{run("--queue", "--git-token-file", key), exitUsage, "--queue cannot go with --git-ssh-key or --git-token-file"},
		{run("--queue", "--queue-depth", "0"), exitUsage, "--queue-depth 0: use 1 to 16"},
		{run("--queue", "--queue-depth", "17"), exitUsage, "--queue-depth 17: use 1 to 16"},
		{run("--queue", "--queue-depth", "-9223372036854775808"), exitUsage, "--queue-depth"},
		{run("--queue", "--queue-interval", "1ns"), exitUsage, "--queue-interval 1ns: use 100ms to 1h"},
		{run("--queue", "--queue-interval", "-5s"), exitUsage, "--queue-interval"},
		{run("--queue", "--queue-check", " "), exitUsage, "--queue-check is empty: give a command line, e.g. --queue-check 'make test'"},
		{run("--queue", "--queue-check", "make\x00test"), exitUsage, "--queue-check holds a NUL"},
		{run("--queue", "--queue-check", strings.Repeat("x", 1<<20)), exitUsage, "--queue-check is 1048576 bytes long"},
		{run("--queue", "--queue-check", "true", "--queue-check-timeout", "0s"), exitUsage, "--queue-check-timeout 0s"},
		{[]string{"run", "--repo", t.TempDir(), "--state", filepath.Join(dir, "state2"), "--listen", "127.0.0.1:0", "--insecure-skip-verify", "--queue"}, exitFailed, "open the Git repository"},
	} {
		code, _, errOut := runCLI(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("durable %.200s: exit %d, %.300q; want exit %d and %q", strings.Join(c.args, " "), code, errOut, c.code, c.want)
		}
	}
}
