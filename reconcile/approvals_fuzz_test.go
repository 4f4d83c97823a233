package reconcile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/durable-delivery/durable/policy"
)

// FuzzReadApprovals reads a fuzzed approval file of a fuzzed name. It must
// not panic; it returns approvals or an error, never both nor neither; an
// error names the file, at a line and column inside it when it gives one;
// every approval read is for a stage of the pipeline, by someone, of a
// release id or prefix, attributed to the revision's commit; and written
// back as `durable approve` writes it, each approval reads again the same,
// attributed to the commit that first carried it.
func FuzzReadApprovals(f *testing.F) {
	full := approvalState().Services["web"].ReleaseID()
	for _, seed := range []struct{ name, body string }{
		{"prod-web.json", `{"release": "` + full[:12] + `", "stage": "prod", "by": "alice@example.com", "reason": "ok"}`},
		{"prod-web.json", `{"release": "` + full + `", "stage": "prod", "by": "bob"}`},
		{"other.json", `{"release": "` + strings.Repeat("b", 40) + `", "stage": "prod", "by": "carol", "reason": "rollback"}` + "\n"},
		{"a.json", "{\n  \"release\": \"abc\",\n  \"stage\" \"prod\"\n}"},
		{"a.json", `{"release": "aaaaaaaaaaaa", "stage": "prod", "by": "x", "approved": true}`},
		{"a.json", `{"release": 12, "stage": "prod", "by": "x"}`},
		{"a.json", `{"release": "../../etc", "stage": "prod", "by": "x"}`},
		{"a.json", `{"release": "aaaaaaaaaaaa", "stage": "staging", "by": "x"}`},
		{"a.json", `{"release": "aaaaaaaaaaaa", "stage": "prod", "by": " \t"}`},
		{"a.json", `{"release": "aaaaaaaaaaaa", "stage": "prod", "by": "x"} trailing`},
		{"a.json", `}`},
		{"a.json", ``},
		{"a.json", `null`},
		{"a.json", "\xef\xbb\xbf{}"},
		{"README.md", "how to approve"},
		{"sub/a.json", `{}`},
	} {
		f.Add(seed.name, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		file := path.Join(ApprovalsDir, name)
		if !fs.ValidPath(file) || !strings.HasPrefix(file, ApprovalsDir+"/") || path.Dir(file) != ApprovalsDir {
			t.Skip("not a file of the approvals folder")
		}
		ds := approvalState()
		first := policy.Commit{ID: "c1", Author: policy.Person{Name: "Alice"}}
		got, err := readApprovals(fstest.MapFS{file: {Data: data}}, ds, nil, first)
		if (got == nil) == (err == nil) {
			t.Fatalf("readApprovals returned %v and %v: want exactly one", got, err)
		}
		if err != nil {
			checkApprovalError(t, file, data, err)
			return
		}
		for _, a := range got {
			if a.File != file || a.Stage != "prod" || strings.TrimSpace(a.By) == "" || !releasePrefix.MatchString(a.Release) ||
				a.Commit != "c1" || a.Author != first.Author || a.Verified {
				t.Fatalf("approval %+v accepted", a)
			}
		}
		again, err := readApprovals(writtenBack(t, got), ds, got, policy.Commit{ID: "c2"})
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("written back, the approvals read as %+v, %v; not %+v", again, err, got)
		}
	})
}

// checkApprovalError fails t unless err names file, and each position it
// gives is inside data.
func checkApprovalError(t *testing.T, file string, data []byte, err error) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, file+":") {
		t.Fatalf("the error does not name the file %s: %v", file, err)
	}
	var line, col int
	if n, _ := fmt.Sscanf(strings.TrimPrefix(msg, file+":"), "%d:%d:", &line, &col); n == 2 {
		lines := bytes.Split(data, []byte("\n"))
		if line < 1 || line > len(lines) || col < 1 || col > len(lines[line-1])+1 {
			t.Fatalf("the error's position %d:%d is outside the file of %d lines: %v", line, col, len(lines), err)
		}
	}
}

// writtenBack is a tree with the approvals written as approval files.
func writtenBack(t *testing.T, approvals []policy.Approval) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	for _, a := range approvals {
		b, err := json.Marshal(ApprovalFile{Release: a.Release, Stage: a.Stage, By: a.By, Reason: a.Reason})
		if err != nil {
			t.Fatal(err)
		}
		out[a.File] = &fstest.MapFile{Data: b}
	}
	return out
}

// FuzzTrailers reads the trailers of fuzzed commit messages. It must not
// panic; every key is a word without spaces or a colon; there are no more
// values than lines in the message; each value is trimmed; and the
// trailers written back as the last paragraph of a message, in key order,
// read again the same.
func FuzzTrailers(f *testing.F) {
	for _, seed := range []string{
		"Deploy v2\n\nBecause.\n\nTicket: OPS-1\nReviewed-by: Bob <bob@example.com>\nTicket: OPS-2",
		"Approve web for prod\n\nApproved-by: alice@example.com\nSigned-off-by: Alice <alice@example.com>\n",
		"One line: not a trailer",
		"Subject\n\nA paragraph of prose: not trailers at all.",
		"Subject\n\nKey:\n: value\nKey: a: b\n",
		"Subject\n\n\n\nKey:   spaced   \r\nOther:\tx",
		"\n\n\n\n",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		got := trailers(msg)
		values := 0
		for k, vs := range got {
			if k == "" || strings.ContainsAny(k, " \t:\n") {
				t.Fatalf("trailer key %q", k)
			}
			for _, v := range vs {
				if v != strings.TrimSpace(v) || strings.Contains(v, "\n") {
					t.Fatalf("trailer %s value %q", k, v)
				}
			}
			values += len(vs)
		}
		if lines := strings.Count(msg, "\n") + 1; values > lines {
			t.Fatalf("%d trailer values from %d lines", values, lines)
		}
		if len(got) == 0 {
			return
		}
		var b strings.Builder
		b.WriteString("Subject\n\n")
		for _, k := range slices.Sorted(maps.Keys(got)) {
			for _, v := range got[k] {
				fmt.Fprintf(&b, "%s: %s\n", k, v)
			}
		}
		if again := trailers(b.String()); !reflect.DeepEqual(again, got) {
			t.Fatalf("written back as %q, the trailers read %v, not %v", b.String(), again, got)
		}
	})
}
