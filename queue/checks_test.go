package queue

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Each check ejects what fails it, with the reason a person needs, and
// the proposals behind land: a tree that does not load (its position), a
// policy test that fails (its name), an operator's command that fails (its
// output) or runs over its timeout.
func TestEachCheckEjectsWithItsReason(t *testing.T) {
	for _, depth := range []int{1, 4} {
		t.Run(fmt.Sprintf("depth=%d", depth), func(t *testing.T) { eachCheckEjects(t, depth) })
	}
}

func eachCheckEjects(t *testing.T, depth int) {
	r := newDesiredRepo(t, 2)
	r.propose(t, "queue/1-invalid", map[string]string{"release.cue": "package quickstart\n\nservices: svc0: artifact: 42\n"})
	r.propose(t, "queue/2-policy-test", map[string]string{"policy/extra_test.rego": "package durable.extra_test\n\ntest_always_fails if {\n\tfalse\n}\n"})
	r.propose(t, "queue/3-forbidden", map[string]string{"forbidden.txt": "no\n"})
	r.propose(t, "queue/4-slow", map[string]string{"slow.txt": "zzz\n"})
	r.propose(t, "queue/5-good", map[string]string{"release.cue": releaseFile(2, map[int]int{1: 4})})
	checks := []Command{
		{Line: "if test -e forbidden.txt; then echo forbidden.txt is forbidden; exit 3; fi", Timeout: time.Minute},
		{Line: "if test -e slow.txt; then sleep 60; fi", Timeout: time.Second},
		{Line: `test "$DURABLE_QUEUE_BRANCH" != "" && test ${#DURABLE_QUEUE_COMMIT} = 40`, Timeout: time.Minute},
	}
	run := newRunner(t, r, Config{Checker: Checker{Checks: checks}, Depth: depth})
	ps := byBranch(drain(t, run))
	for _, c := range []struct {
		branch string
		reason Reason
		want   string
	}{
		{"queue/1-invalid", ReasonInvalid, "release.cue:3:"},
		{"queue/2-policy-test", ReasonPolicyTest, "test_always_fails failed"},
		{"queue/3-forbidden", ReasonCheck, "forbidden.txt is forbidden"},
		{"queue/4-slow", ReasonCheck, "ran over its 1s timeout"},
	} {
		p := ps[c.branch]
		if why := strings.Join(p.Reasons, "\n"); p.State != Ejected || p.Reason != c.reason || !strings.Contains(why, c.want) {
			t.Errorf("%s: %s %s %q; want ejected for %s saying %q", c.branch, p.State, p.Reason, why, c.reason, c.want)
		}
	}
	if p := ps["queue/5-good"]; p.State != Landed {
		t.Fatalf("the good proposal behind: %s %s %q", p.State, p.Reason, p.Reasons)
	}
}

// The operator's command lines are checked before the queue runs.
func TestParseCommandRefusesBadLines(t *testing.T) {
	for _, c := range []struct {
		line    string
		timeout time.Duration
		want    string
	}{
		{"", time.Minute, "empty"},
		{"   ", time.Minute, "empty"},
		{"make\ntest", time.Minute, "line break"},
		{"make\x00", time.Minute, "NUL"},
		{strings.Repeat("x", 4097), time.Minute, "at most 4096"},
		{"make test", 0, "--check-timeout"},
		{"make test", 2 * time.Hour, "--check-timeout"},
	} {
		if _, err := ParseCommand(c.line, c.timeout); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseCommand(%.30q, %s): %v, want %q", c.line, c.timeout, err, c.want)
		}
	}
	if c, err := ParseCommand("make test", time.Minute); err != nil || c.Line != "make test" {
		t.Fatalf("a good line: %+v %v", c, err)
	}
}
