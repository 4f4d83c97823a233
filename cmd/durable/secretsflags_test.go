package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// durable run refuses to start on a secrets directory another local user
// could write, an age identity others may read, and --secret-env entries
// that are not variable names (a bare * would give a committer every
// variable of the reconciler), each saying why and how to fix it.
func TestRunRefusesUnsafeHostSecrets(t *testing.T) {
	repo := t.TempDir()
	open := filepath.Join(t.TempDir(), "secrets")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "age.txt")
	if err := os.WriteFile(key, []byte("AGE-SECRET-KEY-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"world-writable secrets dir", []string{"--secrets-dir", open}, "secrets directory " + open + " is writable by group or others (mode 0777): any local user could give a service a secret of their own; chmod go-w " + open},
		{"missing secrets dir", []string{"--secrets-dir", open + "-nope"}, "no such file or directory; create it (mkdir -m 700 "},
		{"secrets dir is a file", []string{"--secrets-dir", key}, "is not a directory"},
		{"every variable", []string{"--secret-env", "*"}, `--secret-env "*": not a variable name`},
		{"hostile variable", []string{"--secret-env", "A,$(id)"}, `--secret-env "$(id)": not a variable name`},
		{"oversized variable", []string{"--secret-env", strings.Repeat("A", 100000)}, "…\": not a variable name"},
		{"readable age identity", []string{"--sops-age-key-file", key}, "is open to group or others (mode 0644): any local user could read it; chmod 600 " + key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := append([]string{"run", "--repo", repo, "--state", t.TempDir(), "--listen", "127.0.0.1:0", "--insecure-skip-verify"}, tc.args...)
			if got := executeWith(args, nil, &bytes.Buffer{}, &stderr); got != exitFailed || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("durable run %v: exit %d, %s\nwant exit %d saying %q", tc.args, got, stderr.String(), exitFailed, tc.want)
			}
			if stderr.Len() > 2000 {
				t.Errorf("the message is %d bytes: a hostile flag is echoed whole", stderr.Len())
			}
		})
	}
}
