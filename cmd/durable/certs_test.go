package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// certsFleet makes a CA and the certificates of agent a1 (on 127.0.0.1)
// and of a reconciler with durable certs, and returns their directory.
func certsFleet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"certs", "ca", "--out", filepath.Join(dir, "ca")},
		{"certs", "issue", "--ca", filepath.Join(dir, "ca"), "--name", "a1", "--host", "127.0.0.1", "--out", filepath.Join(dir, "a1")},
		{"certs", "issue", "--ca", filepath.Join(dir, "ca"), "--name", "reconciler", "--out", filepath.Join(dir, "reconciler")},
	} {
		var out, errOut bytes.Buffer
		if code := executeWith(args, nil, &out, &errOut); code != exitOK {
			t.Fatalf("durable %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
		}
	}
	return dir
}

// TestCertsCommands: durable certs makes a CA and certificates, keys mode
// 0600, refuses to overwrite any, and says how it is called when it is not.
func TestCertsCommands(t *testing.T) {
	dir := certsFleet(t)
	for _, key := range []string{"ca/ca.key", "a1/a1.key", "reconciler/reconciler.key"} {
		fi, err := os.Stat(filepath.Join(dir, key))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", key, fi, err)
		}
	}
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"certs", "ca", "--out", filepath.Join(dir, "ca")}, exitFailed},
		{[]string{"certs", "issue", "--ca", filepath.Join(dir, "ca"), "--name", "a1", "--out", filepath.Join(dir, "a1")}, exitFailed},
		{[]string{"certs", "issue", "--ca", filepath.Join(dir, "nope"), "--name", "a2", "--out", filepath.Join(dir, "a2")}, exitFailed},
		{[]string{"certs", "issue", "--ca", filepath.Join(dir, "ca"), "--name", "A 2", "--out", filepath.Join(dir, "a2")}, exitFailed},
		{[]string{"certs", "ca"}, exitUsage},
		{[]string{"certs", "issue", "--ca", filepath.Join(dir, "ca")}, exitUsage},
		{[]string{"certs", "--help"}, exitOK},
	} {
		var out, errOut bytes.Buffer
		if code := executeWith(tc.args, nil, &out, &errOut); code != tc.want {
			t.Errorf("durable %s: exit %d, want %d: %s", strings.Join(tc.args, " "), code, tc.want, errOut.String())
		}
	}
}
