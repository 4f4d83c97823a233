package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

func TestExitCodes(t *testing.T) {
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "bad.cue"), []byte("package x\n\nservices: web: {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"version", []string{"version"}, exitOK},
		{"help", []string{"--help"}, exitOK},
		{"run help", []string{"run", "--help"}, exitOK},
		{"validate help", []string{"validate", "--help"}, exitOK},
		{"status help", []string{"status", "--help"}, exitOK},
		{"demo help", []string{"demo", "--help"}, exitOK},
		{"router help", []string{"router", "--help"}, exitOK},
		{"validate example", []string{"validate", "../../examples/quickstart"}, exitOK},
		{"validate broken", []string{"validate", broken}, exitFailed},
		{"validate missing dir", []string{"validate", filepath.Join(broken, "nope")}, exitFailed},
		{"unknown command", []string{"bogus"}, exitUsage},
		{"unknown flag", []string{"status", "--bogus"}, exitUsage},
		{"validate the current dir", []string{"validate"}, exitFailed}, // cmd/durable holds no desired state
		{"validate timeout too short", []string{"validate", "--timeout", "10ms", "../../examples/quickstart"}, exitUsage},
		{"validate bad output", []string{"validate", "-o", "yaml", "../../examples/quickstart"}, exitUsage},
		{"validate two dirs", []string{"validate", "a", "b"}, exitUsage},
		{"run without repo", []string{"run"}, exitUsage},
		{"run interval too short", []string{"run", "--repo", broken, "--interval", "1ms"}, exitUsage},
		{"run bad log format", []string{"run", "--repo", broken, "--log-format", "xml"}, exitUsage},
		{"run bad drift mode", []string{"run", "--repo", broken, "--drift", "ignore"}, exitUsage},
		{"run bad timezone", []string{"run", "--repo", broken, "--timezone", "Mars/Olympus"}, exitUsage},
		{"run evaluation timeout too short", []string{"run", "--repo", broken, "--evaluation-timeout", "10ms"}, exitUsage},
		{"run bad policy timeout", []string{"run", "--repo", broken, "--policy-timeout", "0s"}, exitUsage},
		{"run without trust", []string{"run", "--repo", broken, "--state", t.TempDir(), "--listen", "127.0.0.1:0"}, exitUsage},
		{"run with trust and insecure", []string{"run", "--repo", broken, "--trust", filepath.Join(broken, "nope.yaml"), "--insecure-skip-verify"}, exitUsage},
		{"run missing trust file", []string{"run", "--repo", broken, "--trust", filepath.Join(broken, "nope.yaml"), "--state", t.TempDir(), "--listen", "127.0.0.1:0"}, exitFailed},
		{"run missing host file", []string{"run", "--insecure-skip-verify", "--repo", broken, "--host-config", filepath.Join(broken, "nope.yaml"), "--state", t.TempDir(), "--listen", "127.0.0.1:0"}, exitFailed},
		{"status bad output", []string{"status", "-o", "yaml"}, exitUsage},
		// Issue 17's reproductions: `unknown command "plan"`, and -o table refused.
		{"plan help", []string{"plan", "--help"}, exitOK},
		{"history help", []string{"history", "--help"}, exitOK},
		{"validate table", []string{"validate", "-o", "table", "../../examples/quickstart"}, exitOK},
		{"validate broken table", []string{"validate", "-o", "table", broken}, exitFailed},
		{"policy eval bad output", []string{"policy", "eval", "-o", "xml"}, exitUsage},
		{"verify bad output", []string{"verify", "-o", "table", "x@sha256:00"}, exitUsage},
		{"demo table refused", []string{"demo", "-o", "table"}, exitUsage},
		{"watch interval too short", []string{"status", "--watch", "--interval", "1ms"}, exitUsage},
		{"demo bad output", []string{"demo", "-o", "xml"}, exitUsage},
		{"status no reconciler", []string{"status", "--server", "127.0.0.1:1"}, exitFailed},
		{"bad duration", []string{"run", "--repo", broken, "--interval", "soon"}, exitUsage},
		{"resync too short", []string{"run", "--repo", broken, "--resync", "1ms"}, exitUsage},
		{"resync negative", []string{"run", "--repo", broken, "--resync", "-5m"}, exitUsage},
		{"resync too long", []string{"run", "--repo", broken, "--resync", "9999999h"}, exitUsage},
		{"resync not a duration", []string{"run", "--repo", broken, "--resync", "$(rm -rf /)"}, exitUsage},
		{"resync oversized", []string{"run", "--repo", broken, "--resync", strings.Repeat("9", 100000) + "s"}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := execute(tc.args); got != tc.want {
				t.Errorf("durable %v: exit %d, want %d", tc.args, got, tc.want)
			}
		})
	}
}

func TestStatusReadsAStoppedReconcilersJournal(t *testing.T) {
	state := t.TempDir()
	st, err := journal.OpenBolt(filepath.Join(state, "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rev := journal.Revision{Commit: "0123456789abcdef", Verdict: api.RevisionRejected, SeenAt: time.Now(),
		Errors: []string{"a.cue:1:2: broken"}}
	if err := st.PutRevision(context.Background(), rev); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if got := execute([]string{"status", "--server", "127.0.0.1:1", "--state", state}); got != exitOK {
		t.Fatalf("status from the journal: exit %d", got)
	}
	if got := execute([]string{"status", "--server", "127.0.0.1:1", "--state", state, "-o", "json"}); got != exitOK {
		t.Fatalf("status -o json from the journal: exit %d", got)
	}
	var out, errOut strings.Builder
	if got := executeWith([]string{"status", "--api", "127.0.0.1:1", "--state", state, "-o", "table"}, strings.NewReader(""), &out, &errOut); got != exitOK || !strings.HasPrefix(out.String(), "SERVICE  STAGE") {
		t.Fatalf("status -o table from the journal: exit %d\n%s%s", got, out.String(), errOut.String())
	}
}

// validate -o json gives every problem as data, with the line validate
// prints for it, and a valid directory's counts.
func TestValidateJSON(t *testing.T) {
	broken := t.TempDir()
	text := "package x\n\nservices: web: {artifact: \"web:v1\", run: replicas: \"two\"}\n"
	if err := os.WriteFile(filepath.Join(broken, "bad.cue"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := executeWith([]string{"validate", "-o", "json", broken}, strings.NewReader(""), &out, io.Discard); code != exitFailed {
		t.Fatalf("exit %d, want %d", code, exitFailed)
	}
	var got validation
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	if got.Valid || len(got.Errors) < 3 {
		t.Fatalf("want invalid with the artifact, replicas, targets and pipeline errors, got %+v", got)
	}
	var paths []string
	for _, e := range got.Errors {
		paths = append(paths, e.Path)
		if e.Path == "services.web.artifact" && (e.File != "bad.cue" || e.Line != 3 || !strings.HasPrefix(e.Text, "bad.cue:3:")) {
			t.Errorf("artifact error = %+v", e)
		}
	}
	if want := "pipeline services.web.artifact services.web.run.replicas"; strings.Join(paths, " ") != want {
		t.Errorf("paths %q, want %q", strings.Join(paths, " "), want)
	}

	out.Reset()
	if code := executeWith([]string{"validate", "-o", "json", "../../examples/quickstart"}, strings.NewReader(""), &out, io.Discard); code != exitOK {
		t.Fatalf("exit %d, want 0: %s", code, out.String())
	}
	got = validation{}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Valid || got.Services != 1 || got.Stages != 1 || len(got.Errors) != 0 || len(got.EntryPoints) == 0 {
		t.Errorf("quickstart = %+v", got)
	}
}

// validate gives up on a desired state whose evaluation runs over its
// --timeout, and says so. It runs in a child process, as a user runs it: the
// evaluation it gives up on ends with that process, not with this test's.
func TestValidateTimeout(t *testing.T) {
	if dir := os.Getenv("DURABLE_TEST_VALIDATE_DIR"); dir != "" {
		os.Exit(execute([]string{"validate", "--timeout", "1s", dir}))
	}
	dir := t.TempDir()
	grid := "package x\n\nimport \"list\"\n\ngrid: [for i in list.Range(0, 5000, 1) for j in list.Range(0, 5000, 1) {i * j}]\n"
	if err := os.WriteFile(filepath.Join(dir, "grid.cue"), []byte(grid), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestValidateTimeout$")
	cmd.Env = append(os.Environ(), "DURABLE_TEST_VALIDATE_DIR="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitFailed {
		t.Fatalf("validate: %v, want exit %d; stderr:\n%s", err, exitFailed, stderr.String())
	}
	if !strings.Contains(stderr.String(), "took longer than 1s, the limit") {
		t.Errorf("stderr: %s", stderr.String())
	}
}

// durable run refuses to start on an age identity it cannot use, saying
// which and why, before it touches the repository.
func TestRunRefusesBadSopsKeys(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.txt")
	if err := os.WriteFile(garbage, []byte("AGE-SECRET-KEY-NOT-A-KEY\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.txt")
	if err := os.WriteFile(huge, bytes.Repeat([]byte("# comment\n"), 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file, want string
	}{
		{"missing file", filepath.Join(dir, "nope.txt"), "nope.txt"},
		{"malformed key", garbage, "garbage.txt"},
		{"oversized file", huge, "huge.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := []string{"run", "--repo", dir, "--state", t.TempDir(), "--listen", "127.0.0.1:0", "--insecure-skip-verify", "--sops-age-key-file", tc.file}
			if code := executeWith(args, strings.NewReader(""), io.Discard, &stderr); code != exitFailed {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailed, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) || strings.Contains(stderr.String(), "AGE-SECRET-KEY-NOT") {
				t.Errorf("stderr does not name %s, or shows the key: %s", tc.want, stderr.String())
			}
		})
	}
}

func TestRunRefusesBadGitCredentials(t *testing.T) {
	dir := t.TempDir()
	loose := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(loose, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nU2VjcmV0S2V5Qm9keQ==\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("ghs_SecretToken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"key others can read", []string{"--repo", "ssh://git@example.test/r.git", "--git-ssh-key", loose, "--git-known-hosts", token}, "chmod 600 " + loose},
		{"ssh without a key", []string{"--repo", "ssh://git@example.test/r.git"}, "--git-ssh-key FILE"},
		{"token in clear", []string{"--repo", "http://example.test/r.git", "--git-token-file", token}, "use an https:// URL"},
		{"key for https", []string{"--repo", "https://example.test/r.git", "--git-ssh-key", loose}, "not an ssh:// URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := append([]string{"run", "--insecure-skip-verify", "--state", t.TempDir(), "--listen", "127.0.0.1:0"}, tc.args...)
			if code := executeWith(args, strings.NewReader(""), io.Discard, &stderr); code != exitFailed {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailed, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) || strings.Contains(stderr.String(), "U2VjcmV0S2V5Qm9keQ") || strings.Contains(stderr.String(), "ghs_SecretToken") {
				t.Errorf("stderr does not say %q, or shows a secret: %s", tc.want, stderr.String())
			}
		})
	}
}
