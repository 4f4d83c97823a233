package approvals

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzReadApprovals reads a fuzzed approval file of a fuzzed name. It must
// not panic; it returns approvals or an error, never both nor neither; an
// error names the file, at a line and column inside it when it gives one;
// every approval read is of that file, for a stage of the pipeline, by
// someone, of a release id or prefix; and written back as `durable
// approve` writes it, each approval reads again the same.
func FuzzReadApprovals(f *testing.F) {
	full := strings.Repeat("a", 64)
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
		file := path.Join(Dir, name)
		if !fs.ValidPath(file) || !strings.HasPrefix(file, Dir+"/") || path.Dir(file) != Dir {
			t.Skip("not a file of the approvals folder")
		}
		stages := []string{"prod"}
		got, err := Read(fstest.MapFS{file: {Data: data}}, stages)
		if (got == nil) == (err == nil) {
			t.Fatalf("Read returned %v and %v: want exactly one", got, err)
		}
		if err != nil {
			checkError(t, file, data, err)
			return
		}
		for _, a := range got {
			if a.Path != file || a.Stage != "prod" || strings.TrimSpace(a.By) == "" || !releasePrefix.MatchString(a.Release) {
				t.Fatalf("approval %+v accepted", a)
			}
		}
		again, err := Read(writtenBack(t, got), stages)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("written back, the approvals read as %+v, %v; not %+v", again, err, got)
		}
	})
}

// checkError fails t unless err names file, and each position it gives is
// inside data.
func checkError(t *testing.T, file string, data []byte, err error) {
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
func writtenBack(t *testing.T, approvals []Approval) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	for _, a := range approvals {
		b, err := json.Marshal(a.File)
		if err != nil {
			t.Fatal(err)
		}
		out[a.Path] = &fstest.MapFile{Data: b}
	}
	return out
}
