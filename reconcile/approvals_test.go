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

// A file that is not an approval refuses the revision's approvals, with
// the error approvals.Read gives.
func TestReadApprovalsRefusesABadFile(t *testing.T) {
	files := fstest.MapFS{
		"approvals/a.json": {Data: []byte(`{"release": "aaaaaaaaaaaa", "stage": "prod", "by": "x"}`)},
		"approvals/b.json": {Data: []byte(`{"release": 12, "stage": "prod", "by": "x"}`)},
	}
	got, err := readApprovals(files, approvalState(), nil, policy.Commit{ID: "c"})
	if got != nil || err == nil || !strings.HasPrefix(err.Error(), "approvals/b.json:1:15: cannot unmarshal number") {
		t.Fatalf("got %+v, %v; want the error of approvals/b.json alone", got, err)
	}
}

func TestPerson(t *testing.T) {
	if p := person("Ada Lovelace <ada@example.com>"); p.Name != "Ada Lovelace" || p.Email != "ada@example.com" {
		t.Fatalf("person %+v", p)
	}
}
