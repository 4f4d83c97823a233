package schema

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// Origins names each place that gives a field its value, and how: a
// literal (CUE or YAML), an expression, a template or a comprehension; a
// constraint (string) gives none.
func TestOrigins(t *testing.T) {
	const d = `"r@sha256:1"`
	for _, c := range []struct {
		name, cue, yaml, service, want string
	}{
		{"literal", "services: web: artifact: " + d, "", "web", "[x.cue:2:16 (literal)]"},
		{"literal in a struct", "services: web: {\n\tartifact: " + d + "\n}", "", "web", "[x.cue:3:2 (literal)]"},
		{"literal and a constraint", "services: [string]: artifact: string\nservices: web: artifact: " + d, "", "web", "[x.cue:3:16 (literal)]"},
		{"yaml", "", "services:\n  web:\n    artifact: r@sha256:1\n", "web", "[y.yaml:3:5 (literal)]"},
		{"cue and yaml", "services: web: artifact: " + d, "services:\n  web:\n    artifact: r@sha256:1\n", "web", "[x.cue:2:16 (literal) y.yaml:3:5 (literal)]"},
		{"reference", "_a: " + d + "\nservices: web: artifact: _a", "", "web", "[x.cue:3:16 (expression)]"},
		{"interpolation", "_h: \"1\"\nservices: web: artifact: \"r@sha256:\\(_h)\"", "", "web", "[x.cue:3:16 (expression)]"},
		{"template", "services: [string]: artifact: " + d + "\nservices: web: {}", "", "web", "[x.cue:2:21 (template)]"},
		{"template by regexp", "services: [=~\"^w\"]: artifact: " + d + "\nservices: web: {}", "", "web", "[x.cue:2:21 (template)]"},
		{"comprehension", "for n in [\"web\"] {services: (n): artifact: " + d + "}", "", "web", "[x.cue:2:34 (comprehension)]"},
		{"comprehension in a template", "services: [string]: {if true {artifact: " + d + "}}\nservices: web: {}", "", "web", "[x.cue:2:31 (comprehension)]"},
		{"unset", "services: web: {}", "", "web", "[]"},
		{"no such service", "services: web: artifact: " + d, "", "api", "[]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{"x.cue": {Data: []byte("package x\n" + c.cue + "\n")}}
			if c.yaml != "" {
				fsys["y.yaml"] = &fstest.MapFile{Data: []byte(c.yaml)}
			}
			got, err := Origins(fsys, "services", c.service, "artifact")
			if err != nil {
				t.Fatal(err)
			}
			if s := fmt.Sprint(got); s != c.want {
				t.Fatalf("got %s, want %s", s, c.want)
			}
		})
	}
}

// A tree that does not build is refused with a position.
func TestOriginsOfABrokenTree(t *testing.T) {
	for _, src := range []string{"package x\nservices: web: artifact: \"a\"\nservices: web: artifact: \"b\"\n", "package x\nservices: {\n"} {
		_, err := Origins(fstest.MapFS{"x.cue": {Data: []byte(src)}}, "services", "web", "artifact")
		if err == nil || !strings.Contains(err.Error(), "x.cue:") {
			t.Errorf("%q: %v, want a positioned error", src, err)
		}
	}
}
