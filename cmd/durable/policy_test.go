package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
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

// approvalRepo is a clone whose history has two releases of service web,
// in a pipeline of stages staging and prod; it returns the clone and the
// release ids, older first.
func approvalRepo(t *testing.T) (string, string, string) {
	t.Helper()
	repo := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"config", "user.email", "sre@example.com"}, {"config", "user.name", "SRE"},
		{"config", "commit.gpgsign", "false"}} {
		git(args...)
	}
	var releases []string
	for _, digit := range []string{"1", "2"} {
		writeFiles(t, repo, map[string]string{"durable.cue": `package app

services: web: {
	artifact: "r.example/web@sha256:` + strings.Repeat(digit, 64) + `"
	run: {port: 8080, replicas: 1}
}
targets: a: {zone: "z", runtime: kind: "process", traffic: {kind: "router", admin: "edge"}}
targets: b: {zone: "z", runtime: kind: "process", traffic: {kind: "router", admin: "west"}}
pipeline: stages: [{name: "staging", targets: ["a"]}, {name: "prod", targets: ["b"]}]
`})
		ds, err := schema.LoadDir(repo)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, ds.Services["web"].ReleaseID())
		git("add", "durable.cue")
		git("commit", "-q", "-m", "release "+digit)
	}
	return repo, releases[0], releases[1]
}

func TestApproveCommitsAnApprovalFile(t *testing.T) {
	repo, _, release := approvalRepo(t)
	code, out, errOut := durable(t, "", "approve", release, "--stage", "prod", "--reason", "canary looked fine", "--repo", repo)
	if code != exitOK || !strings.Contains(out, "sre@example.com approves release "+release[:12]+" for stage prod") {
		t.Fatalf("exit %d, out %s, err %s", code, out, errOut)
	}
	b, err := os.ReadFile(filepath.Join(repo, "approvals", "prod-"+release[:12]+".json"))
	if err != nil || !strings.Contains(string(b), `"by": "sre@example.com"`) || !strings.Contains(string(b), release) {
		t.Fatalf("approval file: %s, %v", b, err)
	}
	log, err := exec.Command("git", "-C", repo, "log", "-1", "--format=%s").Output()
	if err != nil || strings.TrimSpace(string(log)) != "Approve release "+release[:12]+" for stage prod" {
		t.Fatalf("commit: %q, %v", log, err)
	}
	// A second approver gets a file of their own: a stage gate may ask for two.
	if code, out, errOut := durable(t, "", "approve", release, "--stage", "prod", "--by", "Bob@example.com", "--repo", repo); code != exitOK {
		t.Fatalf("second approval: exit %d, out %s, err %s", code, out, errOut)
	}
	first, _ := os.ReadFile(filepath.Join(repo, "approvals", "prod-"+release[:12]+".json"))
	second, err := os.ReadFile(filepath.Join(repo, "approvals", "prod-"+release[:12]+"-bob-example-com.json"))
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

// TestApproveRefusesWhatCannotBeApproved: a stage the pipeline at HEAD does
// not have, and a release the repository never had, are refused with the
// nearest name, and nothing is committed; a release of an earlier commit,
// or one the reconciler's journal recorded (--state), is approved.
func TestApproveRefusesWhatCannotBeApproved(t *testing.T) {
	repo, older, newer := approvalRepo(t)
	commits := func() string {
		out, err := exec.Command("git", "-C", repo, "rev-list", "--count", "HEAD").Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	before := commits()
	typo := newer[:11] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", newer[11])+1)%16])
	for _, tc := range []struct {
		name, stage, release, want string
	}{
		{"unknown stage", "prd", newer, `--stage "prd": no such stage in the pipeline at HEAD of ` + repo + ` (stages: staging, prod); did you mean prod?`},
		{"unknown stage, nothing near", "qa-eu", newer, `(stages: staging, prod)`},
		{"misspelt release", "prod", typo, "release " + typo + " is not a release of the services of " + repo + " at HEAD and its last 20 commits that changed the desired state; did you mean " + newer[:12] + "?"},
		{"never a release", "prod", strings.Repeat("ab", 32), "is not a release of"},
	} {
		code, _, errOut := durable(t, "", "approve", tc.release, "--stage", tc.stage, "--repo", repo)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, %s\nwant %q", tc.name, code, errOut, tc.want)
		}
	}
	if after := commits(); after != before {
		t.Fatalf("a refused approval committed: %s commits, were %s", after, before)
	}
	if code, out, errOut := durable(t, "", "approve", older[:12], "--stage", "staging", "--repo", repo); code != exitOK {
		t.Fatalf("a release of an earlier commit: exit %d, %s %s", code, out, errOut)
	}

	// With --state, the journal's releases are the ones the repository had.
	state := t.TempDir()
	st, err := journal.OpenBolt(filepath.Join(state, "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := strings.Repeat("cd", 32)
	if err := st.PutRevision(context.Background(), journal.Revision{Commit: "c1", Verdict: api.RevisionAccepted, Releases: map[string]string{"web": seen}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if code, out, errOut := durable(t, "", "approve", seen, "--stage", "prod", "--repo", repo, "--state", state); code != exitOK {
		t.Fatalf("a journaled release: exit %d, %s %s", code, out, errOut)
	}
	code, _, errOut := durable(t, "", "approve", newer, "--stage", "prod", "--repo", repo, "--state", state)
	if want := "is not a release of the reconciler's journal in " + state; code != exitUsage || !strings.Contains(errOut, want) {
		t.Fatalf("a release the journal never recorded: exit %d, %s", code, errOut)
	}
}
