package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunRefusesUnverifiedAndBadRunAs: durable run does not start without
// a trust file unless told --insecure-skip-verify, nor with a --run-as
// that names no user of this host; each refusal says what to give.
func TestRunRefusesUnverifiedAndBadRunAs(t *testing.T) {
	repo := t.TempDir()
	base := []string{"run", "--repo", repo, "--state", t.TempDir(), "--listen", "127.0.0.1:0"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no trust file", nil, "give --trust FILE"},
		{"trust and insecure", []string{"--trust", "t.yaml", "--insecure-skip-verify"}, "leave --insecure-skip-verify out"},
		{"unknown user", []string{"--insecure-skip-verify", "--run-as", "no-such-user-durable"}, `--run-as: user "no-such-user-durable": `},
		{"empty user", []string{"--insecure-skip-verify", "--run-as", ""}, "--run-as: the user is empty"},
		{"huge user", []string{"--insecure-skip-verify", "--run-as", strings.Repeat("a", 1<<20)}, "is longer than 32 characters"},
		{"hostile user", []string{"--insecure-skip-verify", "--run-as", "nobody\x00root"}, "a user name has only letters"},
		{"path as user", []string{"--insecure-skip-verify", "--run-as", "../etc/passwd"}, "a user name has only letters"},
		{"unknown uid", []string{"--insecure-skip-verify", "--run-as", "4294967294"}, `user "4294967294": `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := append(append([]string{}, base...), tc.args...)
			if code := executeWith(args, strings.NewReader(""), io.Discard, &stderr); code != exitUsage {
				t.Fatalf("exit %d, want %d (usage); stderr:\n%s", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr.String())
			}
			if len(stderr.String()) > 4096 {
				t.Errorf("stderr is %d bytes: the refused value is not bounded", stderr.Len())
			}
		})
	}
}

// TestRunAsAnotherUserNeedsRootAndAReachableState: naming another user
// needs a root reconciler, and a state directory that user can get
// through; durable run checks both before it opens anything.
func TestRunAsAnotherUserNeedsRootAndAReachableState(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state") // its parent is 0700
	args := []string{"run", "--repo", t.TempDir(), "--state", state, "--listen", "127.0.0.1:0", "--insecure-skip-verify", "--run-as", "nobody"}
	code, want := exitFailed, "user nobody (uid 65534) cannot reach "
	if os.Geteuid() != 0 {
		code, want = exitUsage, "--run-as nobody: only a reconciler running as root starts instances as another user"
	}
	var stderr bytes.Buffer
	if got := executeWith(args, strings.NewReader(""), io.Discard, &stderr); got != code {
		t.Fatalf("exit %d, want %d; stderr:\n%s", got, code, stderr.String())
	}
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(state, "journal.db")); err == nil {
		t.Error("a refused durable run left a journal")
	}
}
