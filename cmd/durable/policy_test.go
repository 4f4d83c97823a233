package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// durable runs the command line in-process and returns its exit code and
// its standard output and error.
func durable(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	code := executeWith(args, strings.NewReader(stdin), &out, &errw)
	return code, out.String(), errw.String()
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const gateRego = `package durable.gate

default allow := false

allow if input.step.kind == "enter"

hold contains "no approval yet" if {
	input.step.kind == "promote"
	count(input.approvals) == 0
}
`

func TestPolicyTestCommand(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"policy/gate.rego": gateRego,
		"policy/gate_test.rego": `package durable.gate_test

import data.durable.gate

test_enter_allowed if gate.allow with input as {"step": {"kind": "enter"}}

test_promote_allowed if gate.allow with input as {"step": {"kind": "promote"}}
`,
	})
	code, out, _ := durable(t, "", "policy", "test", dir)
	if code != exitFailed || !strings.Contains(out, "FAIL  "+filepath.Join(dir, "policy/gate_test.rego")+":7:1: data.durable.gate_test.test_promote_allowed") ||
		!strings.Contains(out, "1 passed, 1 failed, 0 errored, 0 skipped") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}

	writeFiles(t, dir, map[string]string{"policy/gate_test.rego": `package durable.gate_test

import data.durable.gate

test_enter_allowed if gate.allow with input as {"step": {"kind": "enter"}}
`})
	if code, out, _ := durable(t, "", "policy", "test", dir); code != exitOK || !strings.Contains(out, "1 passed, 0 failed") {
		t.Fatalf("passing tests: exit %d, output:\n%s", code, out)
	}

	writeFiles(t, dir, map[string]string{"policy/gate.rego": "package durable.gate\n\nallow if {\n"})
	code, _, errOut := durable(t, "", "policy", "test", dir)
	if code != exitFailed || !strings.Contains(errOut, filepath.Join(dir, "policy/gate.rego")+":4:1: unexpected eof token") {
		t.Fatalf("syntax error: exit %d, stderr:\n%s", code, errOut)
	}
	if code, _, _ := durable(t, "", "policy", "test", t.TempDir()); code != exitFailed {
		t.Fatalf("no tests: exit %d, want 1", code)
	}
}

func TestPolicyEvalCommand(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"policy/gate.rego": gateRego, "enter.json": `{"step": {"kind": "enter"}}`,
		"promote.json": `{"step": {"kind": "promote"}, "approvals": []}`})
	code, out, _ := durable(t, "", "policy", "eval", "--entry", "gate", "--input", filepath.Join(dir, "enter.json"), dir)
	if code != exitOK || !strings.Contains(out, `"result": "allow"`) || !strings.Contains(out, `"inputDigest": "sha256:`) {
		t.Fatalf("allow: exit %d, output:\n%s", code, out)
	}
	code, out, _ = durable(t, "", "policy", "eval", "--entry", "gate", "--input", filepath.Join(dir, "promote.json"), dir)
	if code != exitFailed || !strings.Contains(out, `"result": "hold"`) || !strings.Contains(out, "no approval yet") {
		t.Fatalf("hold: exit %d, output:\n%s", code, out)
	}
	code, out, _ = durable(t, `{"step": {"kind": "enter"}}`, "policy", "eval", "--entry", "gate", "--input", "-", dir)
	if code != exitOK || !strings.Contains(out, `"result": "allow"`) {
		t.Fatalf("stdin: exit %d, output:\n%s", code, out)
	}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  int
	}{
		{"unknown entry", "", []string{"--entry", "gates", "--input", "-"}, exitUsage},
		{"no input", "", []string{"--entry", "gate"}, exitUsage},
		{"not JSON", "{", []string{"--entry", "gate", "--input", "-"}, exitFailed},
		{"not an object", "[1]", []string{"--entry", "gate", "--input", "-"}, exitFailed},
		{"oversized", `{"x": "` + strings.Repeat("a", maxInputBytes) + `"}`, []string{"--entry", "gate", "--input", "-"}, exitFailed},
		{"missing file", "", []string{"--entry", "gate", "--input", filepath.Join(dir, "nope.json")}, exitFailed},
	} {
		if code, _, _ := durable(t, tc.stdin, append([]string{"policy", "eval"}, append(tc.args, dir)...)...); code != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, code, tc.want)
		}
	}
}

func TestValidateReportsPolicyErrors(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadDir("../../examples/quickstart")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range example {
		if filepath.Ext(e.Name()) == ".cue" {
			b, err := os.ReadFile(filepath.Join("../../examples/quickstart", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			writeFiles(t, dir, map[string]string{e.Name(): string(b)})
		}
	}
	writeFiles(t, dir, map[string]string{"policy/net.rego": "package durable.admission\n\ndeny contains msg if {\n\tmsg := http.send({\"method\": \"GET\", \"url\": \"http://127.0.0.1:1\"}).body\n}\n"})
	code, _, errOut := durable(t, "", "validate", dir)
	if code != exitFailed || !strings.Contains(errOut, filepath.Join(dir, "policy/net.rego")+":4:9: undefined function http.send") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestApproveCommitsAnApprovalFile(t *testing.T) {
	repo := t.TempDir()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"config", "user.email", "sre@example.com"}, {"config", "user.name", "SRE"},
		{"config", "commit.gpgsign", "false"}, {"commit", "-q", "--allow-empty", "-m", "init"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	release := strings.Repeat("ab", 32)
	code, out, errOut := durable(t, "", "approve", release, "--stage", "prod", "--reason", "canary looked fine", "--repo", repo)
	if code != exitOK || !strings.Contains(out, "sre@example.com approves release abababababab for stage prod") {
		t.Fatalf("exit %d, out %s, err %s", code, out, errOut)
	}
	b, err := os.ReadFile(filepath.Join(repo, "approvals", "prod-abababababab.json"))
	if err != nil || !strings.Contains(string(b), `"by": "sre@example.com"`) || !strings.Contains(string(b), release) {
		t.Fatalf("approval file: %s, %v", b, err)
	}
	log, err := exec.Command("git", "-C", repo, "log", "-1", "--format=%s").Output()
	if err != nil || strings.TrimSpace(string(log)) != "Approve release abababababab for stage prod" {
		t.Fatalf("commit: %q, %v", log, err)
	}
	// A second approver gets a file of their own: a stage gate may ask for two.
	if code, out, errOut := durable(t, "", "approve", release, "--stage", "prod", "--by", "Bob@example.com", "--repo", repo); code != exitOK {
		t.Fatalf("second approval: exit %d, out %s, err %s", code, out, errOut)
	}
	first, _ := os.ReadFile(filepath.Join(repo, "approvals", "prod-abababababab.json"))
	second, err := os.ReadFile(filepath.Join(repo, "approvals", "prod-abababababab-bob-example-com.json"))
	if err != nil || !strings.Contains(string(second), `"by": "Bob@example.com"`) || !strings.Contains(string(first), `"by": "sre@example.com"`) {
		t.Fatalf("approval files: %s and %s, %v", first, second, err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"short release", []string{"approve", "abc", "--stage", "prod", "--repo", repo}, exitUsage},
		{"uppercase release", []string{"approve", strings.ToUpper(release), "--stage", "prod", "--repo", repo}, exitUsage},
		{"no stage", []string{"approve", release, "--repo", repo}, exitUsage},
		{"bad stage", []string{"approve", release, "--stage", "../etc", "--repo", repo}, exitUsage},
		{"not a repository", []string{"approve", release, "--stage", "prod", "--by", "x", "--repo", t.TempDir()}, exitFailed},
	} {
		if code, _, _ := durable(t, "", tc.args...); code != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, code, tc.want)
		}
	}
}
