package reconcile

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

func approvalState() *schema.DesiredState {
	return &schema.DesiredState{
		Services: map[string]schema.Service{"web": {Name: "web", Artifact: "r/web@sha256:" + strings.Repeat("a", 64)}},
		Pipeline: schema.Pipeline{Stages: []schema.Stage{{Name: "prod", Targets: []string{"t"}}}},
	}
}

func TestReadApprovals(t *testing.T) {
	ds := approvalState()
	full := ds.Services["web"].ReleaseID()
	files := fstest.MapFS{
		"approvals/prod-web.json": {Data: []byte(`{"release": "` + full[:12] + `", "stage": "prod", "by": "alice@example.com", "reason": "ok"}`)},
		"approvals/README.md":     {Data: []byte("how to approve")},
	}
	got, err := readApprovals(files, ds, nil, policy.Commit{ID: "c1", Author: policy.Person{Name: "Alice", Email: "alice@example.com"},
		Signer: &policy.Signer{Identity: "alice@example.com", Method: "ssh", Key: "SHA256:abc"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Release != full || got[0].Commit != "c1" || got[0].Author.Name != "Alice" || !got[0].Verified || got[0].Signer.Identity != "alice@example.com" {
		t.Fatalf("approvals %+v", got)
	}
	// The next revision keeps the first commit that carried the approval.
	again, err := readApprovals(files, ds, got, policy.Commit{ID: "c2", Author: policy.Person{Name: "Bob"}})
	if err != nil || len(again) != 1 || again[0].Commit != "c1" || again[0].Author.Name != "Alice" || !again[0].Verified {
		t.Fatalf("carried over: %+v, %v", again, err)
	}
	if none, err := readApprovals(fstest.MapFS{}, ds, nil, policy.Commit{ID: "c"}); err != nil || len(none) != 0 {
		t.Fatalf("no approvals folder: %+v, %v", none, err)
	}
	if got := approvalsFor(again, full); len(got) != 1 {
		t.Fatalf("approvalsFor: %+v", got)
	}
	if got := approvalsFor(again, strings.Repeat("b", 64)); len(got) != 0 {
		t.Fatalf("approvalsFor another release: %+v", got)
	}
}

func TestReadApprovalsRejectsBadFiles(t *testing.T) {
	ds := approvalState()
	if _, err := readApprovals(fstest.MapFS{"approvals/a.json": {Data: []byte(`{"release": "aaaaaaaaaaaa", "stage": "prod", "by": "x"}` + " \r\n\t\n")}}, ds, nil, policy.Commit{ID: "c"}); err != nil {
		t.Fatalf("white space after the approval: %v", err)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"syntax", "{\n  \"release\": \"abc\",\n  \"stage\" \"prod\"\n}", "approvals/a.json:3:11: invalid character '\"' after object key"},
		{"unknown field", `{"release": "aaaaaaaaaaaa", "stage": "prod", "by": "x", "approved": true}`, `approvals/a.json:1:1: unknown field "approved"`},
		{"wrong type", `{"release": 12, "stage": "prod", "by": "x"}`, "approvals/a.json:1:15: cannot unmarshal number"},
		{"release not hex", `{"release": "../../etc", "stage": "prod", "by": "x"}`, `release "../../etc" is not a release id`},
		{"unknown stage", `{"release": "aaaaaaaaaaaa", "stage": "staging", "by": "x"}`, `stage "staging" is not a stage of the pipeline`},
		{"nobody", `{"release": "aaaaaaaaaaaa", "stage": "prod", "by": " "}`, "by is empty"},
		{"trailing text", `{"release": "aaaaaaaaaaaa", "stage": "prod", "by": "x"} trailing`, "approvals/a.json:1:57: text after the approval, at offset 56"},
		{"a second value", "{\"release\": \"aaaaaaaaaaaa\", \"stage\": \"prod\", \"by\": \"x\"}\n\n{}\n", "approvals/a.json:3:1: text after the approval, at offset 57"},
		{"oversized", `{"release": "aaaaaaaaaaaa", "stage": "prod", "by": "` + strings.Repeat("x", maxApprovalBytes) + `"}`, "more than the 16384 an approval may hold"},
	} {
		_, err := readApprovals(fstest.MapFS{"approvals/a.json": {Data: []byte(tc.body)}}, ds, nil, policy.Commit{ID: "c"})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestTrailersAndPerson(t *testing.T) {
	got := trailers("Deploy v2\n\nBecause.\n\nTicket: OPS-1\nReviewed-by: Bob <bob@example.com>\nTicket: OPS-2")
	if len(got["Ticket"]) != 2 || got["Ticket"][1] != "OPS-2" || got["Reviewed-by"][0] != "Bob <bob@example.com>" {
		t.Fatalf("trailers %v", got)
	}
	if got := trailers("One line: not a trailer"); len(got) != 0 {
		t.Fatalf("subject only: %v", got)
	}
	if got := trailers("Subject\n\nA paragraph of prose: not trailers at all."); len(got) != 0 {
		t.Fatalf("prose: %v", got)
	}
	if p := person("Ada Lovelace <ada@example.com>"); p.Name != "Ada Lovelace" || p.Email != "ada@example.com" {
		t.Fatalf("person %+v", p)
	}
}
