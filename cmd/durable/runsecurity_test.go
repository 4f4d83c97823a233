package main

import (
	"bytes"
	"io"
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
