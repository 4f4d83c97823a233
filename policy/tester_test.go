package policy

import (
	"context"
	"strings"
	"testing"
)

func TestRunTestsCountsAndLocatesFailures(t *testing.T) {
	src := Source{Name: "repository", Modules: map[string]string{"policy/admission.rego": admissionFreeze},
		Tests: map[string]string{"policy/admission_test.rego": `package durable.admission_test

import data.durable.admission

test_freeze_denies if {
	count(admission.deny) == 1 with input as {"now": {"date": "2026-12-25"}, "change": {"rollback": false}}
}

test_rollback_allowed if {
	count(admission.deny) == 0 with input as {"now": {"date": "2026-12-25"}, "change": {"rollback": true}}
}

test_wrong_expectation if {
	count(admission.deny) == 1 with input as {"now": {"date": "2026-12-26"}}
}

test_runtime_error if {
	to_number("x") == 1
}

todo_test_later if false
`}}
	rep, err := RunTests(context.Background(), src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed != 2 || rep.Failed != 1 || rep.Errored != 1 || rep.Skipped != 1 || rep.OK() {
		t.Fatalf("report %+v", rep)
	}
	var failed TestResult
	for _, r := range rep.Results {
		if strings.HasSuffix(r.Name, "test_wrong_expectation") {
			failed = r
		}
	}
	if failed.Pass || failed.Location != "policy/admission_test.rego:13:1" {
		t.Fatalf("failing test reported as %+v", failed)
	}
}

func TestRunTestsSandboxed(t *testing.T) {
	src := Source{Name: "repository", Modules: map[string]string{}, Tests: map[string]string{"policy/x_test.rego": `package x_test

test_net if {
	http.send({"method": "GET", "url": "http://127.0.0.1:1"})
}
`}}
	_, err := RunTests(context.Background(), src, 0)
	if err == nil || !strings.Contains(err.Error(), "policy/x_test.rego:4:2: undefined function http.send") {
		t.Fatalf("got %v; want the sandbox to refuse http.send with its position", err)
	}
}
