package fieldedit

import (
	"strings"
	"testing"

	"cuelang.org/go/cue/parser"
	"go.yaml.in/yaml/v3"
)

// FuzzApply feeds Apply files a committer could write, however broken or
// hostile: it never panics, what it writes still parses as the file's
// language, and a field it set is found there again, as it set it.
func FuzzApply(f *testing.F) {
	for _, seed := range []struct {
		src  string
		yaml bool
		path string
	}{
		{"services: web: artifact: \"v1\"\n", false, "services.web.artifact"},
		{"services: web: {run: {replicas: 2}}\n", false, "services.web.run.env.A"},
		{"services: web: steps: [{w: 1}, {w: 2}]\n", false, "services.web.steps.1.w"},
		{"services:\n  web:\n    artifact: v1 # c\n", true, "services.web.artifact"},
		{"services:\n  web:\n    run:\n      args:\n      - a\n", true, "services.web.run.args"},
		{"services: {web: {artifact: 'it''s'}}\n", true, "services.web.hold"},
		{"services:\n  web: &a\n    x: 1\n  api: *a\n", true, "services.api.x"},
		{"services:\n  web:\n    a: |\n      text\n    b: \"q\\\"\"\n", true, "services.web.a"},
	} {
		f.Add(seed.src, seed.yaml, seed.path)
	}
	f.Fuzz(func(t *testing.T, src string, isYAML bool, path string) {
		name := "f.cue"
		if isYAML {
			name = "f.yaml"
		}
		p := Path(strings.Split(path, "."))
		for _, c := range []Change{{Path: p, Value: map[string]any{"k": []any{"v", 1.5, true, nil}}}, {Path: p, Value: "x"}, {Path: p, Delete: true}} {
			out, err := Apply(Files{name: []byte(src)}, []Change{c})
			if err != nil {
				continue
			}
			if isYAML {
				var n yaml.Node
				if yaml.Unmarshal(out[name], &n) != nil {
					t.Fatalf("%s of\n%q\ngave YAML that does not parse:\n%q", c, src, out[name])
				}
			} else if _, err := parser.ParseFile(name, out[name]); err != nil {
				t.Fatalf("%s of\n%q\ngave CUE that does not parse (%v):\n%q", c, src, err, out[name])
			}
			if c.Delete {
				continue
			}
			// The field is now written where Apply finds it: setting it to
			// the same value again changes nothing.
			again, err := Apply(Files{name: out[name]}, []Change{c})
			if err != nil || string(again[name]) != string(out[name]) {
				t.Fatalf("%s of\n%q\ngave\n%q\nand again\n%q (%v)", c, src, out[name], again[name], err)
			}
		}
	})
}
