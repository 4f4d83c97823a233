package schema

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/durable-delivery/durable/examples"
)

// quickstartYAML is examples/quickstart written in YAML, in the same order.
const quickstartYAML = `# The application release and how to run, check and roll it out.
services:
  web:
    artifact: "127.0.0.1:5000/quickstart/web@sha256:0000000000000000000000000000000000000000000000000000000000000000"
    run:
      env:
        GREETING: hello
      replicas: 2
    health:
      path: /healthz
      timeout: 1s
    strategy:
      kind: canary
      keepWarm: 1
      steps:
        - weight: 10
          bake: {time: 2s, requests: 50}
        - weight: 50
          bake: {time: 2s, requests: 100}
      analysis:
        maxErrorRate: 0.01
        maxErrorRateIncrease: 0.01
        minRequests: 20
`

const quickstartTargetsYAML = `targets:
  local:
    zone: local
    runtime:
      kind: process
    traffic:
      kind: router
      admin: edge
pipeline:
  stages:
    - name: local
      targets: [local]
`

// mapFS is a file system of the given files.
func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return fsys
}

// A repository in YAML alone, or in YAML and CUE mixed, loads to the same
// desired state as the same repository in CUE.
func TestLoadYAMLEqualsCUE(t *testing.T) {
	want, err := Load(examples.Quickstart())
	if err != nil {
		t.Fatalf("Load(quickstart): %v", err)
	}
	quickstartCUE := func(name string) string {
		data, err := fs.ReadFile(examples.Quickstart(), name)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	for _, c := range []struct {
		name  string
		files map[string]string
	}{
		{"YAML only, one file", map[string]string{"durable.yaml": quickstartYAML + quickstartTargetsYAML}},
		{"YAML only, .yaml and .yml", map[string]string{"services.yaml": quickstartYAML, "targets.yml": quickstartTargetsYAML}},
		{"CUE and YAML", map[string]string{"release.cue": quickstartCUE("release.cue"), "service.cue": quickstartCUE("service.cue"), "targets.yaml": quickstartTargetsYAML}},
		{"with an empty YAML file and anchors", map[string]string{
			"empty.yaml":   "# nothing yet\n",
			"durable.yaml": strings.Replace(quickstartYAML, "bake: {time: 2s, requests: 100}", "bake: &bake100 {time: 2s, requests: 100}", 1) + quickstartTargetsYAML,
			"more.yaml":    "---\n",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Load(mapFS(c.files))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("YAML loads to\n%+v\nwant (as CUE)\n%+v", got, want)
			}
		})
	}
}

// A mistake in YAML gets the same advice as the same mistake in CUE, at the
// YAML file's line and column.
func TestLoadYAMLSameAdviceAsCUE(t *testing.T) {
	for _, c := range []struct {
		name      string
		yaml, cue string
		at        string
	}{{
		name: "unknown field",
		yaml: "services:\n  web:\n    run:\n      replica: 3\n",
		cue:  "package demo\n\nservices: web: run: replica: 3\n",
		at:   "extra.yaml:4:7",
	}, {
		name: "unknown top-level field",
		yaml: "servicess: {}\n",
		cue:  "package demo\n\nservicess: {}\n",
		at:   "extra.yaml:1:1",
	}, {
		name: "wrong type",
		yaml: "services:\n  web:\n    run: {replicas: two}\n",
		cue:  "package demo\n\nservices: web: run: replicas: \"two\"\n",
		at:   "extra.yaml:3:21",
	}, {
		name: "out of range",
		yaml: "services:\n  web:\n    strategy:\n      keepWarm: -1\n",
		cue:  "package demo\n\nservices: web: strategy: keepWarm: -1\n",
		at:   "extra.yaml:4:17",
	}, {
		name: "unknown runtime kind",
		yaml: "targets:\n  edge:\n    runtime: {kind: podman}\n    traffic: {kind: router, admin: \"west\"}\n",
		cue:  "package demo\n\ntargets: edge: {runtime: kind: \"podman\", traffic: {kind: \"router\", admin: \"west\"}}\n",
		at:   "extra.yaml:3:21",
	}, {
		name: "a field of another kind",
		yaml: "targets:\n  local:\n    runtime:\n      network: host\n",
		cue:  "package demo\n\ntargets: local: runtime: network: \"host\"\n",
		at:   "extra.yaml:4:7",
	}} {
		t.Run(c.name, func(t *testing.T) {
			yamlErrs := loadErrors(t, repo(map[string]string{"extra.yaml": c.yaml}))
			cueErrs := loadErrors(t, repo(map[string]string{"extra.cue": c.cue}))
			if len(yamlErrs) != 1 || len(cueErrs) != 1 {
				t.Fatalf("want one error each:\nYAML:\n%v\nCUE:\n%v", yamlErrs, cueErrs)
			}
			y, k := yamlErrs[0], cueErrs[0]
			if got := fmt.Sprintf("%s:%d:%d", y.File, y.Line, y.Col); got != c.at {
				t.Errorf("YAML error at %s, want %s: %v", got, c.at, y)
			}
			if y.Message != k.Message || y.Path != k.Path {
				t.Errorf("YAML error %q (path %s)\nwant the CUE one %q (path %s)", y.Message, y.Path, k.Message, k.Path)
			}
		})
	}
}

// TestLoadYAMLErrors asserts the whole output for broken YAML.
func TestLoadYAMLErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		yaml string
		want string
	}{{
		name: "unclosed flow list",
		yaml: "services:\n  web:\n    run:\n      args: [--verbose, --quiet\n",
		want: "d.yaml:4:1: syntax error: did not find expected ',' or ']'",
	}, {
		name: "tab indentation",
		yaml: "services:\n  web:\n    run:\n\treplicas: 2\n",
		want: "d.yaml:4:1: syntax error: found character that cannot start any token",
	}, {
		name: "mapping on the first line",
		yaml: "services: web: {}\n",
		want: "d.yaml:1:1: syntax error: mapping values are not allowed in this context",
	}, {
		name: "unterminated string",
		yaml: "services:\n  web:\n    artifact: \"repo@sha256:abc\n",
		want: "d.yaml:3:1: syntax error: found unexpected end of stream",
	}, {
		name: "unknown anchor",
		yaml: "services:\n  web: *nothing\n",
		want: "d.yaml: syntax error: unknown anchor 'nothing' referenced",
	}, {
		name: "two documents",
		yaml: "services: {}\n---\ntargets: {}\n",
		want: "d.yaml:3:1: a second YAML document; a file of desired state holds one document: move this one to a file of its own",
	}, {
		name: "a list at the top",
		yaml: "- services\n",
		want: "d.yaml:1:1: the top level is a list; it must be a mapping of fields such as services:, targets: and pipeline:",
	}, {
		name: "a scalar at the top",
		yaml: "hello\n",
		want: `d.yaml:1:1: the top level is a scalar ("hello"); it must be a mapping of fields such as services:, targets: and pipeline:`,
	}, {
		name: "a key written twice",
		yaml: "services:\n  web:\n    run: {replicas: 2}\n    run: {port: 80}\n",
		want: `d.yaml:4:5: key "run" is already written at line 3 of this mapping; write each key once`,
	}, {
		name: "an alias inside its anchor",
		yaml: "services: &all\n  web: *all\n",
		want: "d.yaml:2:8: alias *all is inside the value it names; an alias cannot contain itself",
	}, {
		name: "a tag that does not fit",
		yaml: "services:\n  web:\n    run:\n      replicas: !!int two\n",
		want: `d.yaml:4:1: cannot decode "two" as !!int: illegal number start "two"`,
	}, {
		name: "null where a struct belongs",
		yaml: "services:\n  web:\n    artifact: \"registry.example/web@" + digest + "\"\n    run: ~\n",
		want: "d.yaml:4:10: services.web.run: null is null, not a struct; run holds args, env, port and replicas",
	}} {
		t.Run(c.name, func(t *testing.T) {
			errs := loadErrors(t, repo(map[string]string{"d.yaml": c.yaml}))
			if got := errs.Error(); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// Hostile YAML is refused within the caps, quickly, without exhausting
// memory: the test's own deadline is the proof that nothing hangs.
func TestLoadYAMLHostile(t *testing.T) {
	// "Billion laughs": nine levels of nine aliases each.
	var laughs strings.Builder
	laughs.WriteString(`l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&laughs, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d,", i-1), 9), ","))
	}
	for _, c := range []struct {
		name string
		yaml string
		want string
		// prefix compares only the start of the output, which goes on
		// with a shortened copy of the hostile value.
		prefix bool
	}{{
		name: "billion laughs",
		yaml: laughs.String(),
		want: "d.yaml:6:22: YAML aliases expand to more than 1 MiB in this repository, the limit; write the values out where they are used, or share them with CUE",
	}, {
		name: "a long string aliased many times",
		yaml: "x: &x \"" + strings.Repeat("a", 100_000) + "\"\ny: [" + strings.Repeat("*x, ", 3000) + "*x]\n",
		want: "d.yaml:2:45: YAML aliases expand to more than 1 MiB in this repository, the limit; write the values out where they are used, or share them with CUE",
	}, {
		name: "a huge document",
		yaml: "services:\n  web:\n    run:\n      args:\n" + strings.Repeat("        - \"--flag\"\n", MaxFileBytes/19+1),
		want: "d.yaml: is larger than 1 MiB, the limit for one .yaml file; split it or keep large data out of the desired state",
	}, {
		name: "nesting beyond the parser's depth",
		yaml: "services: " + strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001) + "\n",
		want: "d.yaml:1:1: syntax error: exceeded max depth of 10000",
	}, {
		name:   "deep nesting within the parser's depth",
		yaml:   "services: " + strings.Repeat("[", 5_000) + strings.Repeat("]", 5_000) + "\n",
		want:   "d.yaml:1:11: services: conflicting values [[[[[[[[[[",
		prefix: true,
	}} {
		t.Run(c.name, func(t *testing.T) {
			errs := loadErrors(t, repo(map[string]string{"d.yaml": c.yaml}))
			got := errs.Error()
			if c.prefix && strings.HasPrefix(got, c.want) {
				return
			}
			if got != c.want {
				t.Errorf("got\n%.600s\nwant\n%s", got, c.want)
			}
		})
	}
}

// The aliases of every YAML file in a load share one budget: many files,
// each under it, cannot add up to more.
func TestLoadYAMLAliasBudgetIsPerRepository(t *testing.T) {
	files := map[string]string{}
	perFile := "x: &x \"" + strings.Repeat("a", 10_000) + "\"\ny: [" + strings.Repeat("*x, ", 29) + "*x]\n" // about 300 kB expanded
	for i := range 4 {
		files[fmt.Sprintf("f%d.yaml", i)] = perFile
	}
	errs := loadErrors(t, repo(files))
	want := "f3.yaml:2:"
	if len(errs) != 1 || !strings.HasPrefix(errs[0].String(), want) || !strings.Contains(errs[0].Message, "YAML aliases expand to more than 1 MiB in this repository") {
		t.Errorf("got\n%v\nwant one error at %s…: YAML aliases expand…", errs, want)
	}
}

// YAML files obey the caps and the symbolic-link rules of .cue files.
func TestLoadYAMLCaps(t *testing.T) {
	fsys := fstest.MapFS{}
	for i := range MaxFiles {
		fsys[fmt.Sprintf("f%04d.cue", i)] = &fstest.MapFile{Data: []byte("package demo\n")}
	}
	fsys["z.yml"] = &fstest.MapFile{Data: []byte("services: {}\n")}
	_, err := Load(fsys)
	want := "z.yml: more than 1000 .cue and YAML files in the repository's desired state, the limit; merge small files"
	if err == nil || err.Error() != want {
		t.Errorf("too many files: got %v, want %q", err, want)
	}

	dir := quickstartDir(t)
	outside := filepath.Join(t.TempDir(), "outside.yaml")
	mustWrite(t, outside, "services: {}\n")
	mustSymlink(t, outside, filepath.Join(dir, "evil.yaml"))
	_, err = LoadDir(dir)
	want = "evil.yaml: is a symbolic link to a file outside the repository; replace it with the file itself"
	if err == nil || err.Error() != want {
		t.Errorf("symlink outside: got %v, want %q", err, want)
	}
}

func TestLoadDirYAML(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "durable.yaml"), quickstartYAML+quickstartTargetsYAML)
	mustWrite(t, filepath.Join(dir, "sub", "ignored.yaml"), "not: [valid")
	ds, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	if ds.Services["web"].Strategy.Kind != "canary" {
		t.Errorf("loaded %+v", ds)
	}
}
