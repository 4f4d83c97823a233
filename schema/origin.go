package schema

import (
	"fmt"
	"io/fs"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
)

// How a place of the user's files gives a field its value.
const (
	// FormLiteral is a literal written at the field's own path: a tool can
	// rewrite it in place (package fieldedit).
	FormLiteral = "literal"
	// FormExpression computes the value (a reference, an interpolation, an
	// operation).
	FormExpression = "expression"
	// FormTemplate gives it to every field a pattern matches
	// ([Name=string]: …).
	FormTemplate = "template"
	// FormComprehension makes it in a for or if clause.
	FormComprehension = "comprehension"
	// FormPackage writes it in a package the root imports.
	FormPackage = "package"
)

// An Origin is one place of the user's files that gives a field a concrete
// value.
type Origin struct {
	File      string
	Line, Col int
	Form      string
}

func (s Origin) String() string { return fmt.Sprintf("%s:%d:%d (%s)", s.File, s.Line, s.Col, s.Form) }

// Origins loads the user's files of fsys as Load does, without the schema,
// and returns the places that give the field at path (e.g. services, web,
// artifact) a concrete value, in the order CUE lists them: none when no
// file sets it. A tree that does not build is its positioned Errors.
func Origins(fsys fs.FS, path ...string) ([]Origin, error) {
	files, pkgs, errs := parseTree(fsys, nil)
	if errs != nil {
		return nil, errs.normalize()
	}
	x, errs := buildUser(cuecontext.New(), files, pkgs)
	if errs != nil {
		return nil, errs.normalize()
	}
	if err := x.user.Err(); err != nil {
		return nil, x.explain(err).normalize()
	}
	root := map[string]*ast.File{}
	for _, f := range files {
		root[f.Filename] = f
	}
	v := x.user.LookupPath(cue.MakePath(selectors(path)...))
	if !v.Exists() {
		return nil, nil
	}
	op, parts := v.Expr()
	if op != cue.AndOp {
		parts = []cue.Value{v}
	}
	var out []Origin
	for _, p := range parts {
		pos := p.Pos()
		if !x.files[pos.Filename()] || !p.IsConcrete() {
			continue // the schema's, or a constraint (string) rather than a value
		}
		s := Origin{File: pos.Filename(), Line: pos.Line(), Col: pos.Column(), Form: FormPackage}
		if f, ok := root[s.File]; ok {
			s.Form = formOf(f, p.Source())
		}
		out = append(out, s)
	}
	return out, nil
}

// formOf says how the field node of file f gives its value: a literal,
// unless it is an expression or sits in a pattern or comprehension.
func formOf(f *ast.File, node ast.Node) string {
	field, ok := node.(*ast.Field)
	if !ok {
		return FormExpression
	}
	form := FormExpression
	if _, ok := field.Value.(*ast.BasicLit); ok {
		form = FormLiteral
	}
	var stack []ast.Node
	found := false
	ast.Walk(f, func(n ast.Node) bool {
		if found {
			return false
		}
		if n == node {
			found = true
			for _, a := range stack {
				switch a := a.(type) {
				case *ast.Comprehension:
					form = FormComprehension
				case *ast.Field:
					if _, pattern := a.Label.(*ast.ListLit); pattern && form != FormComprehension {
						form = FormTemplate
					}
				}
			}
			return false
		}
		stack = append(stack, n)
		return true
	}, func(ast.Node) {
		if !found && len(stack) > 0 {
			stack = stack[:len(stack)-1]
		}
	})
	return form
}
