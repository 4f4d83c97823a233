package writeback

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/durable-delivery/durable/internal/approvals"
)

const release = "0123456789abcdef0123456789abcdef"

func TestApprovalFile(t *testing.T) {
	empty := fstest.MapFS{}
	name, body, err := Approval(empty, "prod", release, " ann@example.test ", "looks good")
	if err != nil || name != "approvals/prod-0123456789ab.json" {
		t.Fatalf("Approval = %s, %v", name, err)
	}
	var f approvals.File
	if err := json.Unmarshal(body, &f); err != nil || f.By != "ann@example.test" || f.Release != release || f.Stage != "prod" || f.Reason != "looks good" {
		t.Fatalf("body %s: %v", body, err)
	}
	// Read accepts what Approval writes.
	read, err := approvals.Read(fstest.MapFS{name: {Data: body}}, []string{"prod"})
	if err != nil || len(read) != 1 {
		t.Fatalf("approvals.Read of the file written: %v, %v", read, err)
	}
	taken := fstest.MapFS{name: {Data: body}}
	if other, _, err := Approval(taken, "prod", release, "Bob <bob@example.test>", ""); err != nil || other != "approvals/prod-0123456789ab-bob-bob-example-test.json" {
		t.Errorf("a second approver's file: %s, %v", other, err)
	}
	if same, _, err := Approval(taken, "prod", release, "ANN@example.test", ""); err != nil || same != name {
		t.Errorf("the same approver again: %s, %v: want the same file", same, err)
	}
	if odd, _, err := Approval(taken, "prod", release, "!!!", ""); err != nil || !strings.HasSuffix(odd, "-approver.json") {
		t.Errorf("an approver without letters: %s, %v", odd, err)
	}
}

func TestApprovalRefusesHostileInput(t *testing.T) {
	for name, in := range map[string][4]string{
		"short release":   {"prod", "abc", "ann", ""},
		"upper release":   {"prod", strings.ToUpper(release), "ann", ""},
		"path in stage":   {"../prod", release, "ann", ""},
		"empty stage":     {"", release, "ann", ""},
		"slash stage":     {"a/b", release, "ann", ""},
		"no approver":     {"prod", release, "  ", ""},
		"newline in by":   {"prod", release, "ann\nDurable-Approve: x", ""},
		"huge by":         {"prod", release, strings.Repeat("a", MaxBy+1), ""},
		"control reason":  {"prod", release, "ann", "ok\x00"},
		"oversize reason": {"prod", release, "ann", strings.Repeat("r", MaxReason+1)},
	} {
		if p, _, err := Approval(fstest.MapFS{}, in[0], in[1], in[2], in[3]); err == nil {
			t.Errorf("%s: wrote %s, want a refusal", name, p)
		}
	}
}
