package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/parser"
)

// Load reads every .cue file at the root of fsys (one CUE package, of any
// name) and every .yaml or .yml file there (one document each, a mapping of
// the same fields), unifies them with #DesiredState and returns the desired
// state with the schema's defaults applied. Sub-directories, other files
// and, as the cue tool does, names starting with "." or "_" are ignored. Any
// problem in the files is returned as Errors, positioned in them. fsys is
// trusted to keep its symbolic links inside itself (os.DirFS does not: use
// LoadDir for a directory on disk).
func Load(fsys fs.FS) (*DesiredState, error) {
	return load(fsys, nil)
}

// LoadDir is Load for a directory on disk. A .cue or YAML file that is a
// symbolic link to anything outside dir is an error.
func LoadDir(dir string) (*DesiredState, error) {
	fsys, inside, err := dirFS(dir)
	if err != nil {
		return nil, err
	}
	return load(fsys, inside)
}

// dirFS opens dir as a file system, with the check that refuses a symbolic
// link out of it.
func dirFS(dir string) (fs.FS, linkCheck, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err == nil {
		root, err = filepath.Abs(root)
	}
	if err != nil {
		return nil, nil, Errors{{Message: fmt.Sprintf("cannot read the repository directory %s: %v", dir, unwrapPath(err))}}.normalize()
	}
	inside := func(name string) error {
		target, err := filepath.EvalSymlinks(filepath.Join(root, name))
		if err != nil {
			return fmt.Errorf("is a symbolic link that cannot be followed: %w", unwrapPath(err))
		}
		rel, err := filepath.Rel(root, target)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("is a symbolic link to a file outside the repository; replace it with the file itself")
		}
		return nil
	}
	return os.DirFS(root), inside, nil
}

// load reads and checks the desired state of fsys and decodes it.
func load(fsys fs.FS, checkLink linkCheck) (*DesiredState, error) {
	fail := func(errs Errors) (*DesiredState, error) { return nil, errs.normalize() }
	files, pkgs, errs := parseTree(fsys, checkLink)
	if errs != nil {
		return fail(errs)
	}
	ds, errs, err := evaluate(files, pkgs)
	if err != nil {
		return nil, err
	}
	if errs != nil {
		return fail(errs)
	}
	return ds, nil
}

// parseTree reads and parses the sources at the root of fsys, with what
// loads the packages they import.
func parseTree(fsys fs.FS, checkLink linkCheck) ([]*ast.File, *packages, Errors) {
	mod, errs := readModule(fsys, checkLink)
	if errs != nil {
		return nil, nil, errs
	}
	var b budget
	sources, errs := b.read(fsys, ".", isSource, checkLink)
	if errs != nil {
		return nil, nil, errs
	}
	if len(sources) == 0 {
		return nil, nil, Errors{{Message: "no .cue files at the repository root; the desired state is one CUE package there, e.g. durable.cue"}}
	}
	files, errs := parseSources(sources, mod)
	if errs != nil {
		return nil, nil, errs
	}
	return files, &packages{fsys: fsys, checkLink: checkLink, mod: mod, budget: &b}, nil
}

// parseSources parses every file and checks that the .cue files form one
// package that imports nothing but CUE's standard library and the
// repository's own packages. A YAML file joins
// that package as it is converted (it has no package clause or imports).
func parseSources(sources []sourceFile, mod cueModule) ([]*ast.File, Errors) {
	var errs Errors
	files := make([]*ast.File, 0, len(sources))
	var cueFiles []*ast.File
	var aliases aliasBudget
	for _, src := range sources {
		if isYAML(src.name) {
			f, yamlErrs := parseYAML(src, &aliases)
			errs = append(errs, yamlErrs...)
			if f != nil {
				files = append(files, f)
			}
			continue
		}
		f, err := parser.ParseFile(src.name, src.data)
		if err != nil {
			errs = append(errs, syntaxErrors(src.name, err)...)
			continue
		}
		files = append(files, f)
		cueFiles = append(cueFiles, f)
	}
	if errs != nil {
		return nil, errs
	}
	errs = append(errs, checkPackages(cueFiles)...)
	for _, f := range cueFiles {
		errs = append(errs, checkImports(f, mod)...)
	}
	return files, errs
}

// checkPackages requires one package name across the files. The name most
// files declare is taken as meant (the first file's on a tie), so the error
// lands on the odd ones out.
func checkPackages(files []*ast.File) Errors {
	count := map[string]int{}
	first := map[string]string{}
	var want string
	for _, f := range files {
		name := f.PackageName()
		if name == "" {
			continue
		}
		count[name]++
		if first[name] == "" {
			first[name] = f.Filename
		}
		if want == "" || count[name] > count[want] {
			want = name
		}
	}
	if want == "" {
		return nil
	}
	wantFile := first[want]
	var errs Errors
	for _, f := range files {
		switch name := f.PackageName(); name {
		case want:
		case "":
			errs = append(errs, at(f.Filename, 1, 1, fmt.Sprintf(
				"no package clause; start the file with \"package %s\", as in %s", want, wantFile)))
		default:
			p := packagePos(f).Pos()
			errs = append(errs, at(f.Filename, p.Line(), p.Column(), fmt.Sprintf(
				"package %q differs from package %q in %s; every .cue file at the repository root must be in one package", name, want, wantFile)))
		}
	}
	return errs
}

// packagePos is the position of f's package name.
func packagePos(f *ast.File) ast.Node {
	for _, d := range f.Decls {
		if p, ok := d.(*ast.Package); ok {
			return p.Name
		}
	}
	return f
}

// evaluate builds the user's package, unifies it with #DesiredState and
// decodes it. Problems in the user's files come back as Errors; err is a
// fault of Durable itself (a schema that does not compile or decode).
func evaluate(files []*ast.File, pkgs *packages) (*DesiredState, Errors, error) {
	// A cue.Context grows with use and is not safe to share: one per load.
	ctx := cuecontext.New()
	x, errs := buildUser(ctx, files, pkgs)
	if errs != nil {
		return nil, errs, nil
	}
	// Every problem is reported in one run: the user's own conflicts, the
	// schema's verdict, what CUE leaves unsaid once it found an error
	// (unknown fields beside other errors, missing values), and the checks
	// CUE cannot express.
	if err := x.user.Validate(); err != nil {
		errs = append(errs, x.explain(err)...)
	}
	// A conflict in the user's own files is the problem at its path: what
	// the schema then says of that path is its echo.
	conflicted := map[string]bool{}
	for _, e := range errs {
		conflicted[e.Path] = true
	}
	// The checks CUE cannot express read the user's value alone, evaluated
	// by now, and run beside the schema's evaluation: a cue.Value is safe
	// for concurrent use (cue/concurrent_test.go in CUE v0.17, issue 2733).
	// What they report is added after the schema's verdict, as if in turn.
	type checked struct {
		sopsFiles map[string][]byte
		errs      Errors
	}
	beyond := make(chan checked, 1)
	go func(x explainer) {
		sopsFiles, errs := pkgs.checkBeyondSchema(x.user, &x)
		beyond <- checked{sopsFiles, errs}
	}(*x)
	def, err := compileSchema(ctx)
	if err != nil {
		<-beyond
		return nil, nil, err
	}
	x.def = def
	v := x.user.Unify(def)
	// The value is decoded while it is validated, as the checks run, and
	// the result is kept only if the value is valid.
	decoded := make(chan decoding, 1)
	go func() {
		var ds DesiredState
		decoded <- decoding{&ds, decodeValue(v, &ds)}
	}()
	err = v.Validate(cue.Concrete(true))
	// The passes that explain the schema's verdict walk the user's value
	// further: they wait for the checks.
	c, d := <-beyond, <-decoded
	if err != nil {
		for _, e := range x.explain(err) {
			if !conflicted[e.Path] {
				errs = append(errs, e)
			}
		}
		errs = errs.union(x.unknownFields(nil))
		errs = errs.union(x.missingValues(v, nil))
		errs = withOldHostForms(errs, x.user, x)
		if errs == nil {
			errs = x.unexplained(err)
		}
	}
	if errs = append(errs, c.errs...); errs != nil {
		return nil, errs, nil
	}

	ds, errs, err := decode(v, d, x)
	if errs != nil || err != nil {
		return nil, errs, err
	}
	return ds, nil, attachSopsFiles(ds, fromMap(c.sopsFiles))
}

// decoding is what decodeValue made of a desired state.
type decoding struct {
	state *DesiredState
	err   error
}

// decode is the validated desired state v in its Go types, as d decoded
// it. Should the value not have decoded (which validation leaves to
// faults of Durable's), it is marshalled to JSON and decoded strictly, as
// it was before decodeValue, for that path's verdict and words.
func decode(v cue.Value, d decoding, x *explainer) (*DesiredState, Errors, error) {
	if d.err == nil {
		return d.state, nil, nil
	}
	b, err := v.MarshalJSON()
	if err != nil {
		errs := x.explain(err)
		if errs == nil {
			errs = x.unexplained(err)
		}
		return nil, errs, nil
	}
	fromJSON, err := decodeJSON(b)
	if err != nil {
		return nil, nil, err
	}
	return fromJSON, nil, nil
}

// buildUser builds the user's files, and the packages they import, into
// the value the schema is then unified with.
func buildUser(ctx *cue.Context, files []*ast.File, pkgs *packages) (*explainer, Errors) {
	x := &explainer{files: map[string]bool{}}
	inst := pkgs.newBuild()
	for _, f := range files {
		x.files[f.Filename] = true
		if err := inst.AddSyntax(f); err != nil {
			return nil, x.explain(err)
		}
	}
	// Loading the imported packages reports their own problems; CUE's
	// "import failed" would only repeat them.
	inst.Complete()
	if pkgs.errs != nil {
		return nil, pkgs.errs
	}
	for _, f := range pkgs.files {
		x.files[f.Filename] = true
	}
	p := packagePos(files[0]).Pos()
	x.anchor = Error{File: files[0].Filename, Line: max(p.Line(), 1), Col: max(p.Column(), 1)}
	x.user = ctx.BuildInstance(inst)
	return x, nil
}

// decodeJSON decodes a validated desired state, as CUE marshals it, into
// its Go types. A field the types do not know is a fault of Durable's.
func decodeJSON(b []byte) (*DesiredState, error) {
	var ds DesiredState
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ds); err != nil {
		return nil, fmt.Errorf("schema: decode the validated desired state: %w", err)
	}
	return &ds, nil
}

// compileSchema builds the embedded schema in ctx and returns #DesiredState.
func compileSchema(ctx *cue.Context) (cue.Value, error) {
	f, err := parser.ParseFile(schemaFile, schemaSource)
	if err != nil {
		return cue.Value{}, fmt.Errorf("schema: parse the embedded schema: %w", err)
	}
	v := ctx.BuildFile(f)
	if err := v.Err(); err != nil {
		return cue.Value{}, fmt.Errorf("schema: build the embedded schema: %w", err)
	}
	return v.LookupPath(cue.MakePath(cue.Def("#DesiredState"))), nil
}

// at is an Error at a place in a user file.
func at(file string, line, col int, msg string) Error {
	return Error{File: file, Line: line, Col: col, Message: msg}
}
