package fieldedit

import (
	"fmt"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

// cueFile walks one parsed CUE file for the sites of a path.
type cueFile struct {
	*lines
	path  Path
	sites []site
}

// A cueLink is one field on the way down a path and the struct that holds
// it (nil at the top of the file).
type cueLink struct {
	field  *ast.Field
	parent *ast.StructLit
}

func cueSites(name string, src []byte, p Path) ([]site, error) {
	f, err := parser.ParseFile(name, src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	w := &cueFile{lines: newLines(name, src), path: p}
	w.sites = append(w.sites, site{file: name, depth: 0, pos: name, add: w.appendDecl, appends: true})
	w.walk(f.Decls, nil, nil, 0)
	return w.sites, nil
}

// walk looks in decls (the elements of parent, or the file's when nil) for
// the field path[depth].
func (w *cueFile) walk(decls []ast.Decl, parent *ast.StructLit, chain []cueLink, depth int) {
	for _, d := range decls {
		f, ok := d.(*ast.Field)
		if !ok || f.Constraint != token.ILLEGAL {
			continue // a comprehension, an embedding, a let or an optional field: not a declaration of one field
		}
		name, _, err := ast.LabelName(f.Label)
		if err != nil || name != w.path[depth] {
			continue
		}
		w.value(f.Value, append(chain, cueLink{field: f, parent: parent}), depth+1)
	}
}

// value looks at what the field at path[:depth] is given.
func (w *cueFile) value(v ast.Expr, chain []cueLink, depth int) {
	if depth == len(w.path) {
		w.sites = append(w.sites, w.fieldSite(v, chain))
		return
	}
	switch v := v.(type) {
	case *ast.StructLit:
		w.sites = append(w.sites, w.parentSite(v, depth))
		w.walk(v.Elts, v, chain, depth)
	case *ast.ListLit:
		i, ok := index(w.path[depth])
		if !ok || i >= len(v.Elts) {
			return
		}
		if depth+1 == len(w.path) {
			s := w.fieldSite(v.Elts[i], nil)
			s.removeWhy = "a list element is not removed alone; set the whole list"
			w.sites = append(w.sites, s)
			return
		}
		if st, ok := v.Elts[i].(*ast.StructLit); ok {
			w.sites = append(w.sites, w.parentSite(st, depth+1))
			w.walk(st.Elts, st, nil, depth+1)
		}
	}
}

// fieldSite is a site that writes the field itself with value v.
func (w *cueFile) fieldSite(v ast.Expr, chain []cueLink) site {
	start, end := v.Pos().Offset(), v.End().Offset()
	s := site{file: w.name, depth: len(w.path), pos: w.pos(start)}
	s.set = func(value any) splice { return splice{start, end, render(value, true)} }
	if !cueLiteral(v) {
		s.setWhy = "the value is an expression, not a literal"
	}
	if len(chain) == 0 {
		s.removeWhy = "not a field"
		return s
	}
	s.remove = w.removal(chain)
	return s
}

// removal takes out the field at the end of chain — or, where it is
// written as a: b: c: value, the outermost label that holds nothing else,
// so that no label is left without a value.
func (w *cueFile) removal(chain []cueLink) splice {
	k := len(chain) - 1
	for k > 0 {
		st, ok := chain[k-1].field.Value.(*ast.StructLit)
		if !ok || st.Lbrace.IsValid() || len(st.Elts) != 1 {
			break
		}
		k--
	}
	f := chain[k].field
	start, end := f.Pos().Offset(), f.End().Offset()
	for _, cg := range ast.Comments(f) {
		if cg.Doc && cg.Pos().IsValid() && cg.Pos().Offset() < start {
			start = cg.Pos().Offset()
		}
	}
	return w.cut(start, end)
}

// cut removes src[start:end] with the line it fills, or, inside a line,
// with a comma that separates it from what follows.
func (w *cueFile) cut(start, end int) splice {
	rest := w.src[end:w.lineEnd(end)]
	if w.blankBefore(start) && onlyCommentAfter(rest) {
		return splice{w.lineStart(start), w.lineEnd(end), ""}
	}
	for end < len(w.src) && (w.src[end] == ',' || w.src[end] == ' ' || w.src[end] == '\t') {
		end++
	}
	return splice{start, end, ""}
}

// onlyCommentAfter reports whether the rest of a line is blank, a comma
// or a line comment.
func onlyCommentAfter(rest []byte) bool {
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case ' ', '\t', ',', '\n', '\r':
		case '/':
			return i+1 < len(rest) && rest[i+1] == '/'
		default:
			return false
		}
	}
	return true
}

// parentSite is a site that writes path[:depth] as the struct st: a field
// below it is written inside its braces, or, for a struct written as
// a: b: value, as a declaration of its own at the end of the file.
func (w *cueFile) parentSite(st *ast.StructLit, depth int) site {
	s := site{file: w.name, depth: depth, pos: w.pos(st.Pos().Offset())}
	if !st.Lbrace.IsValid() {
		s.add, s.appends = w.appendDecl, true
		return s
	}
	s.add = func(rest Path, value any) splice {
		decl := nest(rest, value, syntaxCUE)
		rb := st.Rbrace.Offset()
		if w.lineOf(rb) == w.lineOf(st.Lbrace.Offset()) {
			if len(st.Elts) > 0 {
				decl = ", " + decl
			}
			return splice{rb, rb, decl}
		}
		indent := w.indentOf(rb) + "\t"
		if len(st.Elts) > 0 {
			indent = w.indentOf(st.Elts[0].Pos().Offset())
		}
		if !w.blankBefore(rb) { // the brace closes a line that holds more: it goes to a line of its own
			return splice{rb, rb, "\n" + indent + decl + "\n" + w.indentOf(rb)}
		}
		at := w.lineStart(rb)
		return splice{at, at, indent + decl + "\n"}
	}
	return s
}

// appendDecl writes the whole path as a declaration of its own at the end
// of the file: CUE unifies it with what the other files say.
func (w *cueFile) appendDecl(_ Path, value any) splice {
	end := len(w.src)
	text := nest(w.path, value, syntaxCUE) + "\n"
	if end > 0 && w.src[end-1] != '\n' {
		text = "\n" + text
	}
	return splice{end, end, text}
}

// cueLiteral reports whether v is written as a literal: a string, number,
// boolean or null, or a list or struct of them — nothing that refers to
// another value, constrains or defaults.
func cueLiteral(v ast.Expr) bool {
	switch v := v.(type) {
	case *ast.BasicLit:
		return true
	case *ast.UnaryExpr:
		_, ok := v.X.(*ast.BasicLit)
		return ok && (v.Op == token.SUB || v.Op == token.ADD)
	case *ast.ParenExpr:
		return cueLiteral(v.X)
	case *ast.ListLit:
		for _, e := range v.Elts {
			if !cueLiteral(e) {
				return false
			}
		}
		return true
	case *ast.StructLit:
		for _, d := range v.Elts {
			f, ok := d.(*ast.Field)
			if !ok || f.Constraint != token.ILLEGAL || !cueLiteral(f.Value) {
				return false
			}
			if _, _, err := ast.LabelName(f.Label); err != nil {
				return false
			}
		}
		return true
	}
	return false
}
