package schema

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	cueload "cuelang.org/go/cue/load"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/mod/modfile"
	"cuelang.org/go/mod/module"
)

func TestModuleFiles(t *testing.T) {
	files, err := Module()
	if err != nil {
		t.Fatalf("Module: %v", err)
	}
	mf, err := modfile.Parse(files["cue.mod/module.cue"], "cue.mod/module.cue")
	if err != nil {
		t.Fatalf("cue.mod/module.cue does not parse as a publishable module file: %v", err)
	}
	if mf.QualifiedModule() != ModulePath || mf.Language.Version != moduleLanguage {
		t.Errorf("module %q language %q, want %q %q", mf.QualifiedModule(), mf.Language.Version, ModulePath, moduleLanguage)
	}
	f, err := parser.ParseFile("schema.cue", files["schema.cue"])
	if err != nil {
		t.Fatalf("schema.cue: %v", err)
	}
	if f.PackageName() != "schema" {
		t.Errorf("package %q, want schema (the import path's last element)", f.PackageName())
	}
	if len(files) != 2 {
		t.Errorf("files: %d, want cue.mod/module.cue and schema.cue", len(files))
	}
	for _, example := range []string{exampleModuleFile, exampleLocalModuleFile, exampleCheckFile} {
		if !strings.Contains(example, strings.TrimSuffix(ModulePath, "@v0")) {
			t.Errorf("the documented example does not name the module:\n%s", example)
		}
	}
}

// noRegistry fails every fetch: the check must need nothing but the
// exported directory.
type noRegistry struct{}

var errNoRegistry = errors.New("no registry in this test")

func (noRegistry) ModFile(context.Context, module.Version) (*modfile.File, error) {
	return nil, errNoRegistry
}
func (noRegistry) Fetch(context.Context, module.Version) (module.SourceLoc, error) {
	return module.SourceLoc{}, errNoRegistry
}
func (noRegistry) ModuleVersions(context.Context, string) ([]string, error) {
	return nil, errNoRegistry
}

// The exported module checks a repository laid out as docs/schema.md says,
// through CUE's own loader (what cue vet runs): a valid repository passes, a
// typo fails at its place, and Durable still loads the repository itself.
func TestModuleChecksARepository(t *testing.T) {
	files, err := Module()
	if err != nil {
		t.Fatal(err)
	}
	const valid = `package infra

services: web: {
	artifact: "registry.example/web@` + digest + `"
	dependsOn: ["api"]
}
services: api: artifact: "registry.example/api@` + digest + `"
targets: local: {
	runtime: kind: "process"
	traffic: {kind: "router", admin: "edge"}
}
pipeline: stages: [{name: "local", targets: ["local"]}]
`
	for _, c := range []struct {
		name, service string
		want          string // "" when the check passes
	}{
		{"valid", valid, ""},
		{"typo", strings.Replace(valid, `dependsOn: ["api"]`, "dependsOn: [\"api\"]\n\trun: replica: 3", 1),
			"desired.services.web.run.replica: field not allowed at service.cue:6:7"},
		{"missing artifact", strings.Replace(valid, `services: api: artifact: "registry.example/api@`+digest+`"`, `services: api: {}`, 1),
			"desired.services.api.artifact: incomplete value =~\"^[^@\\\\s]+@sha256:[a-f0-9]{64}$\" at"},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo := t.TempDir()
			for name, data := range files {
				mustWrite(t, filepath.Join(repo, exampleExportDir, filepath.FromSlash(name)), string(data))
			}
			mustWrite(t, filepath.Join(repo, "cue.mod", "module.cue"), exampleModuleFile)
			mustWrite(t, filepath.Join(repo, "cue.mod", "local-module.cue"), exampleLocalModuleFile)
			mustWrite(t, filepath.Join(repo, "check", "check.cue"), exampleCheckFile)
			mustWrite(t, filepath.Join(repo, "service.cue"), c.service)

			got := vet(t, repo, "./check")
			if c.want == "" && got != "" || c.want != "" && !strings.HasPrefix(got, c.want) {
				t.Errorf("cue vet ./check: got %q, want %q", got, c.want)
			}
			if _, err := LoadDir(repo); (err == nil) != (c.want == "") {
				t.Errorf("Durable's LoadDir of the same repository: %v", err)
			}
		})
	}
}

// vet loads the package at path of the module in dir as cue vet -c does and
// returns its first error, positioned relative to dir, or "".
func vet(t *testing.T, dir, path string) string {
	t.Helper()
	insts := cueload.Instances([]string{path}, &cueload.Config{Dir: dir, Registry: noRegistry{}})
	if len(insts) != 1 {
		t.Fatalf("%d instances", len(insts))
	}
	if err := insts[0].Err; err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	v := cuecontext.New().BuildInstance(insts[0])
	err := v.Validate(cue.Concrete(true))
	if err == nil {
		return ""
	}
	e := cueerrors.Errors(err)[0]
	msg := e.Error()
	if ps := cueerrors.Positions(e); len(ps) > 0 {
		rel, _ := filepath.Rel(dir, ps[0].Filename())
		msg += fmt.Sprintf(" at %s:%d:%d", rel, ps[0].Line(), ps[0].Column())
	}
	return msg
}
