package policy

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInputThatCannotBeRecordedDenies: a decision is journaled with its
// input's digest; an input JSON cannot encode (a NaN from a metrics
// source) is denied, never decided on an input the record does not hold.
// Where no policy defines the entry point nothing is asked, and the input is
// not encoded at all (the reconciler's built-in gate digests it itself:
// TestGateWithoutPolicyDeniesAnInputThatCannotBeRecorded).
func TestInputThatCannotBeRecordedDenies(t *testing.T) {
	in := map[string]any{"analysis": Analysis{Verdict: "pass", Signals: []Signal{{Name: "5xx-ratio", Canary: math.NaN(), Verdict: "pass"}}}}
	e := mustCompile(t, Options{}, source("repository", map[string]string{"gate.rego": gatePolicy}))
	d := e.Decide(context.Background(), Gate, in)
	if d.Result != Deny || len(d.Reasons) != 1 || !strings.HasPrefix(d.Reasons[0], "encode input") {
		t.Errorf("a gate policy: %+v, want a deny: encode input", d)
	}
	var none *Engine
	if d := none.Decide(context.Background(), Gate, in); d.Result != Allow || d.Defined() || d.InputDigest != "" {
		t.Errorf("no policy: %+v, want an undefined allow with no digest", d)
	}
	if _, err := InputDigest(in); err == nil || !strings.HasPrefix(err.Error(), "encode input") {
		t.Errorf("InputDigest of a NaN: %v, want encode input", err)
	}
}

// TestReportFailsOnAnyFailureOrError: a policy test run with one failed
// test, or one errored test, is not OK.
func TestReportFailsOnAnyFailureOrError(t *testing.T) {
	for _, tc := range []struct {
		r    TestReport
		want bool
	}{
		{TestReport{Passed: 3}, true},
		{TestReport{Passed: 3, Skipped: 1}, true},
		{TestReport{Passed: 3, Failed: 1}, false},
		{TestReport{Passed: 3, Errored: 1}, false},
	} {
		if got := tc.r.OK(); got != tc.want {
			t.Errorf("%+v: OK %v, want %v", tc.r, got, tc.want)
		}
	}
}

// TestReadDirReadsThePolicies: a policy folder on this host gives its
// modules and tests, named by their path under the folder; a folder that
// cannot be read (a .rego that is a symbolic link) is an error, never an
// empty (allow-all) source.
func TestReadDirReadsThePolicies(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"admission.rego": admissionFreeze, "admission_test.rego": "package durable.admission_test\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src, err := ReadDir(dir, "host")
	if err != nil || src.Modules[filepath.Join(dir, "admission.rego")] != admissionFreeze || len(src.Tests) != 1 {
		t.Fatalf("read %s: %+v, %v", dir, src, err)
	}
	if err := os.Symlink(filepath.Join(dir, "admission.rego"), filepath.Join(dir, "link.rego")); err != nil {
		t.Fatal(err)
	}
	if src, err := ReadDir(dir, "host"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a folder with a linked policy: %+v, %v; want an error", src, err)
	}
}
