package main

import (
	"go/ast"
	"go/token"
	"strconv"
	"strings"
)

// site is one mutation of one place in a file's syntax tree: apply changes
// the tree in place. Sites are listed in the order ast.Inspect meets their
// nodes, so the same source parsed again gives the same list: a mutant is
// named by its file and its index in that list.
type site struct {
	pos   token.Pos
	desc  string
	apply func()
}

// flips are the comparison operators a comparison is mutated to: the
// boundary moved (< to <=) and the test negated (< to >=).
var flips = map[token.Token][]token.Token{
	token.LSS: {token.LEQ, token.GEQ},
	token.LEQ: {token.LSS, token.GTR},
	token.GTR: {token.GEQ, token.LEQ},
	token.GEQ: {token.GTR, token.LSS},
	token.EQL: {token.NEQ},
	token.NEQ: {token.EQL},
}

// sitesOf lists every mutation of f.
func sitesOf(f *ast.File) []site {
	var out []site
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ImportSpec:
			return false
		case *ast.BinaryExpr:
			out = append(out, binarySites(n)...)
		case *ast.BasicLit:
			out = append(out, literalSites(n)...)
		case *ast.IfStmt:
			out = append(out, ifSites(n)...)
		}
		return true
	})
	return out
}

// binarySites flips a comparison, and swaps && and ||.
func binarySites(e *ast.BinaryExpr) []site {
	var out []site
	for _, to := range flips[e.Op] {
		out = append(out, opSite(e, to))
	}
	switch e.Op {
	case token.LAND:
		out = append(out, opSite(e, token.LOR))
	case token.LOR:
		out = append(out, opSite(e, token.LAND))
	}
	return out
}

func opSite(e *ast.BinaryExpr, to token.Token) site {
	return site{pos: e.OpPos, desc: "`" + e.Op.String() + "` → `" + to.String() + "`", apply: func() { e.Op = to }}
}

// literalSites replaces a number c with c+1 and, unless it is 0, with 0.
func literalSites(l *ast.BasicLit) []site {
	plus, zero, ok := successor(l)
	if !ok {
		return nil
	}
	out := []site{litSite(l, plus)}
	if zero != l.Value {
		out = append(out, litSite(l, zero))
	}
	return out
}

// successor is a number literal plus one, and the zero of its kind (0.0
// for a float, so that a variable it declares keeps its type); ok is false
// for anything else.
func successor(l *ast.BasicLit) (plus, zero string, ok bool) {
	switch l.Kind {
	case token.INT:
		v, err := strconv.ParseInt(l.Value, 0, 64)
		if err != nil {
			return "", "", false
		}
		if v == 0 {
			return "1", l.Value, true
		}
		return strconv.FormatInt(v+1, 10), "0", true
	case token.FLOAT:
		v, err := strconv.ParseFloat(l.Value, 64)
		if err != nil {
			return "", "", false
		}
		if v == 0 {
			return "1.0", l.Value, true
		}
		plus = strconv.FormatFloat(v+1, 'g', -1, 64)
		if !strings.ContainsAny(plus, ".eEnN") {
			plus += ".0" // 2, not 2.0, would make a float variable an int
		}
		return plus, "0.0", true
	}
	return "", "", false
}

func litSite(l *ast.BasicLit, to string) site {
	return site{pos: l.ValuePos, desc: l.Value + " → " + to, apply: func() { l.Value = to }}
}

// ifSites negates an if's condition (unless it is one comparison, whose
// flip already negates it) and drops an early return of an error: the
// condition becomes false, so the error is ignored.
func ifSites(s *ast.IfStmt) []site {
	var out []site
	if b, ok := s.Cond.(*ast.BinaryExpr); !ok || flips[b.Op] == nil {
		cond := s.Cond
		out = append(out, site{pos: s.If, desc: "if condition negated", apply: func() {
			s.Cond = &ast.UnaryExpr{Op: token.NOT, X: &ast.ParenExpr{X: cond}}
		}})
	}
	if returnsErr(s.Body) {
		out = append(out, site{pos: s.If, desc: "early `return err` dropped (condition false)", apply: func() {
			s.Cond = ast.NewIdent("false")
		}})
	}
	return out
}

// returnsErr reports whether a block ends in a return whose results
// mention the identifier err.
func returnsErr(b *ast.BlockStmt) bool {
	if len(b.List) == 0 {
		return false
	}
	ret, ok := b.List[len(b.List)-1].(*ast.ReturnStmt)
	if !ok {
		return false
	}
	found := false
	for _, r := range ret.Results {
		ast.Inspect(r, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && id.Name == "err" {
				found = true
			}
			return !found
		})
	}
	return found
}
