package approvals

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestRead(t *testing.T) {
	files := fstest.MapFS{
		"approvals/prod-web.json": {Data: []byte(`{"release": "aaaaaaaaaaaa", "stage": "prod", "by": "alice@example.com", "reason": "ok"}`)},
		"approvals/README.md":     {Data: []byte("how to approve")},
		"approvals/old/a.json":    {Data: []byte("not read")},
	}
	got, err := Read(files, []string{"staging", "prod"})
	want := []Approval{{Path: "approvals/prod-web.json", File: File{Release: "aaaaaaaaaaaa", Stage: "prod", By: "alice@example.com", Reason: "ok"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Read: %+v, %v; want %+v", got, err, want)
	}
	if none, err := Read(fstest.MapFS{}, []string{"prod"}); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("no approvals folder: %#v, %v", none, err)
	}
}

func TestReadRejectsBadFiles(t *testing.T) {
	stages := []string{"prod"}
	if _, err := Read(fstest.MapFS{"approvals/a.json": {Data: []byte(`{"release": "aaaaaaaaaaaa", "stage": "prod", "by": "x"}` + " \r\n\t\n")}}, stages); err != nil {
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
		{"oversized", `{"release": "aaaaaaaaaaaa", "stage": "prod", "by": "` + strings.Repeat("x", maxBytes) + `"}`, "more than the 16384 an approval may hold"},
	} {
		got, err := Read(fstest.MapFS{"approvals/a.json": {Data: []byte(tc.body)}}, stages)
		if got != nil || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %+v, %v; want an error containing %q", tc.name, got, err, tc.want)
		}
	}
}
