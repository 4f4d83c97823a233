package policy

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// TestSourceLimitsAtTheirBoundaries: a policy folder may hold maxFiles
// files, a file maxFileBytes and all of them maxBytes; one more file or
// byte is refused, naming the limit.
func TestSourceLimitsAtTheirBoundaries(t *testing.T) {
	module := func(name string, size int) *fstest.MapFile {
		head := "package durable." + name + "\n"
		return &fstest.MapFile{Data: []byte(head + "#" + strings.Repeat("x", size-len(head)-2) + "\n")}
	}
	files := func(n, size int) fstest.MapFS {
		fsys := fstest.MapFS{}
		for i := range n {
			fsys[fmt.Sprintf("policy/p%04d.rego", i)] = module(fmt.Sprintf("p%d", i), size)
		}
		return fsys
	}
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
		want string // "" when it loads
	}{
		{"as many files as allowed", files(maxFiles, 64), ""},
		{"one file more", files(maxFiles+1, 64), fmt.Sprintf("more than %d policy files", maxFiles)},
		{"a file as large as allowed", files(1, maxFileBytes), ""},
		{"a file a byte larger", files(1, maxFileBytes+1), fmt.Sprintf("more than the %d a policy file may hold", maxFileBytes)},
		{"as many bytes in all as allowed", files(maxBytes/maxFileBytes, maxFileBytes), ""},
		{"a byte more in all", func() fstest.MapFS {
			fsys := files(maxBytes/maxFileBytes, maxFileBytes)
			fsys["policy/z.rego"] = &fstest.MapFile{Data: []byte("\n")}
			return fsys
		}(), fmt.Sprintf("more than %d bytes in all", maxBytes)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadSource(tc.fsys, "policy", "repository", "")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v; want one saying %q", err, tc.want)
			}
		})
	}
}

// TestCompileErrorsAreSorted: errors in several files come by file, then
// line, then column: b.rego's error, on an earlier line than a.rego's,
// comes after them.
func TestCompileErrorsAreSorted(t *testing.T) {
	rule := "deny contains msg if {\n\t%s == 1\n\tmsg := \"m\"\n}\n"
	b := "package durable.admission\n\n" + fmt.Sprintf(rule, "x")
	a := "package durable.admission\n\n\n\n\n\n\n" + fmt.Sprintf(rule, "y") + "\n" + fmt.Sprintf(rule, "z")
	errs := compileErrors(t, map[string]string{"policy/b.rego": b, "policy/a.rego": a})
	var got []string
	for _, e := range errs {
		got = append(got, fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Col))
	}
	want := []string{"policy/a.rego:9:2", "policy/a.rego:14:2", "policy/b.rego:4:2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("errors at %v; want %v", got, want)
	}
}
