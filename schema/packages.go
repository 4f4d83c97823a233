package schema

import (
	"fmt"
	"io/fs"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

// packages loads the repository's own CUE packages that the desired state
// imports: import "example.com/shop/infra" reads the .cue files of folder
// infra/ when cue.mod/module.cue declares module "example.com/shop", as the
// cue tool does. They are read from the same tree, against the same caps,
// with their links checked; a missing folder, a wrong package name or a
// cycle of imports is an Error at the import that causes it.
type packages struct {
	fsys      fs.FS
	checkLink linkCheck
	mod       cueModule
	budget    *budget
	ctx       *build.Context
	loading   map[string]bool // import paths being loaded: a cycle if met again
	files     []*ast.File     // every file read from a folder
	errs      Errors
}

// newBuild starts a build of the package: a fresh build context, whose
// instances and problems are its own.
func (p *packages) newBuild() *build.Instance {
	p.ctx, p.files, p.errs = build.NewContext(), nil, nil
	p.loading = map[string]bool{}
	return p.ctx.NewInstance("", p.load)
}

// load is the build.LoadFunc: nil for the standard library (the runtime
// resolves it), an instance for an own package, and an instance in error for
// anything else (checkImports has already reported why).
func (p *packages) load(pos token.Pos, importPath string) *build.Instance {
	kind, folder, pkg := p.mod.classify(importPath)
	if kind == importStandard {
		return nil
	}
	inst := p.ctx.NewInstance(folder, p.load)
	fail := func(msg string) *build.Instance {
		p.errs = append(p.errs, at(pos.Filename(), pos.Line(), pos.Column(), msg))
		inst.Err = cueerrors.Newf(pos, "%s", msg)
		return inst
	}
	if kind != importOwn {
		inst.Err = cueerrors.Newf(pos, "%s", p.mod.importAdvice(importPath))
		return inst
	}
	if p.loading[importPath] {
		return fail(fmt.Sprintf("import %q is a cycle: that package imports, through its own imports, the one importing it; move what both need into a third package", importPath))
	}
	if !fs.ValidPath(folder) {
		return fail(fmt.Sprintf("import %q does not name a folder of this repository", importPath))
	}
	if info, err := fs.Stat(p.fsys, folder); err != nil || !info.IsDir() {
		return fail(fmt.Sprintf("import %q names folder %s/, which the repository does not have; create it with the package's .cue files, or correct the path", importPath, folder))
	}
	if p.checkLink != nil {
		if err := p.checkLink(folder); err != nil {
			return fail(fmt.Sprintf("import %q: folder %s %v", importPath, folder, err))
		}
	}
	sources, errs := p.budget.read(p.fsys, folder, func(name string) bool { return strings.HasSuffix(name, ".cue") }, p.checkLink)
	if errs != nil {
		p.errs = append(p.errs, errs...)
		inst.Err = cueerrors.Newf(pos, "import %q failed", importPath)
		return inst
	}
	if len(sources) == 0 {
		return fail(fmt.Sprintf("import %q names folder %s/, which holds no .cue file", importPath, folder))
	}
	p.loading[importPath] = true
	defer delete(p.loading, importPath)
	inst.PkgName = pkg
	for _, src := range sources {
		f, err := parser.ParseFile(src.name, src.data)
		if err != nil {
			p.errs = append(p.errs, syntaxErrors(src.name, err)...)
			continue
		}
		if name := f.PackageName(); name != pkg {
			pp := packagePos(f).Pos()
			p.errs = append(p.errs, at(f.Filename, max(pp.Line(), 1), max(pp.Column(), 1), fmt.Sprintf(
				"package %q differs from %q, the package import %q reads from %s/; name it package %s", name, pkg, importPath, folder, pkg)))
			continue
		}
		p.errs = append(p.errs, checkImports(f, p.mod)...)
		p.files = append(p.files, f)
		if err := inst.AddSyntax(f); err != nil {
			inst.Err = err
		}
	}
	if inst.Err == nil {
		inst.Complete()
	}
	return inst
}

// syntaxErrors turns a parse error into Errors.
func syntaxErrors(name string, err error) Errors {
	var errs Errors
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		errs = append(errs, at(name, e.Position().Line(), e.Position().Column(), "syntax error: "+fmt.Sprintf(format, args...)))
	}
	return errs
}

// checkImports refuses imports that are neither CUE's standard library nor
// the repository's own packages, saying why.
func checkImports(f *ast.File, mod cueModule) Errors {
	var errs Errors
	for spec := range f.ImportSpecs() {
		p, err := literal.Unquote(spec.Path.Value)
		if err == nil {
			if kind, _, _ := mod.classify(p); kind == importStandard || kind == importOwn {
				continue
			}
		}
		pos := spec.Path.Pos()
		errs = append(errs, at(f.Filename, pos.Line(), pos.Column(), mod.importAdvice(p)))
	}
	return errs
}
