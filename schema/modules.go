package schema

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/parser"
)

// moduleCueFile is where a CUE module declares itself, as the cue tool reads it.
const moduleCueFile = "cue.mod/module.cue"

// cueModule is what cue.mod/module.cue declares: the module path, under
// which the repository's own packages are imported, and the modules it
// requires from a registry. The zero value is a repository without one.
type cueModule struct {
	path string   // without its major version: "example.com/shop"
	deps []string // required modules, without versions, sorted
}

// readModule reads cue.mod/module.cue when the repository has one.
func readModule(fsys fs.FS, checkLink linkCheck) (cueModule, Errors) {
	if _, err := fs.Lstat(fsys, moduleCueFile); err != nil {
		return cueModule{}, nil
	}
	fail := func(msg string) (cueModule, Errors) {
		return cueModule{}, Errors{{File: moduleCueFile, Message: msg}}
	}
	if checkLink != nil {
		if err := checkLink(moduleCueFile); err != nil {
			return fail(err.Error())
		}
	}
	data, err := readSource(fsys, moduleCueFile)
	if err != nil {
		return fail(err.Error())
	}
	f, err := parser.ParseFile(moduleCueFile, data)
	if err != nil {
		return fail("syntax error: " + err.Error())
	}
	v := cuecontext.New().BuildFile(f)
	if err := v.Err(); err != nil {
		return fail(err.Error())
	}
	var m cueModule
	path, err := v.LookupPath(cue.ParsePath("module")).String()
	if err != nil {
		return fail(`module is missing or not a string; write module: "example.com/shop@v0"`)
	}
	m.path, _, _ = strings.Cut(path, "@")
	it, err := v.LookupPath(cue.ParsePath("deps")).Fields()
	if err == nil {
		for it.Next() {
			dep, _, _ := strings.Cut(it.Selector().Unquoted(), "@")
			m.deps = append(m.deps, dep)
		}
	}
	slices.Sort(m.deps)
	return m, nil
}

// importKind says what an import path names.
type importKind int

const (
	importStandard importKind = iota // CUE's standard library
	importOwn                        // a package of this repository
	importRegistry                   // a package of a module cue.mod requires
	importTool                       // tool/…, which exists to run commands
	importUnknown                    // anything else
)

// classify says what the import path p names, and for an own package the
// folder that holds it and the package name it must have.
func (m cueModule) classify(p string) (kind importKind, folder, pkg string) {
	p, qualifier, _ := strings.Cut(p, ":")
	first, _, _ := strings.Cut(p, "/")
	switch {
	case first == "tool":
		return importTool, "", ""
	case !strings.Contains(first, "."):
		return importStandard, "", ""
	case m.path != "" && strings.HasPrefix(p, m.path+"/"):
		folder = strings.TrimPrefix(p, m.path+"/")
		pkg = qualifier
		if pkg == "" {
			pkg = folder[strings.LastIndex(folder, "/")+1:]
		}
		return importOwn, folder, pkg
	}
	for _, dep := range m.deps {
		if p == dep || strings.HasPrefix(p, dep+"/") {
			return importRegistry, dep, ""
		}
	}
	return importUnknown, "", ""
}

// importAdvice says why an import that is not allowed is refused, and what
// to do instead.
func (m cueModule) importAdvice(p string) string {
	kind, dep, _ := m.classify(p)
	switch kind {
	case importTool:
		return fmt.Sprintf("import %q is not allowed: tool/ packages exist to run commands, and a desired state runs nothing", p)
	case importRegistry:
		return fmt.Sprintf("import %q comes from module %s, which %s requires from a registry; Durable fetches nothing (it works offline, from this repository alone): copy the package into a folder of this repository and import it from there", p, dep, moduleCueFile)
	}
	if m.path == "" {
		return fmt.Sprintf("import %q is not allowed; a desired-state repository may import CUE's standard library, and its own packages once %s names its module (module: \"example.com/shop@v0\")", p, moduleCueFile)
	}
	return fmt.Sprintf("import %q is neither CUE's standard library nor a package of this repository (module %s in %s); import a folder of this repository as %q", p, m.path, moduleCueFile, m.path+"/FOLDER")
}
