package main

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/printer"
	"go/token"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// mutant is one site of one file: the index-th of sitesOf the file.
type mutant struct {
	file  string // path relative to the module's root
	index int
	pos   token.Position
	desc  string
}

func (m mutant) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", m.file, m.pos.Line, m.pos.Column, m.desc)
}

// listMutants lists the mutants of the non-test .go files of the package
// directory pkg (relative to root) whose names match glob.
func listMutants(root, pkg, glob string) ([]mutant, error) {
	names, err := filepath.Glob(filepath.Join(root, pkg, "*.go"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", pkg, err)
	}
	if _, err := filepath.Match(glob, ""); err != nil {
		return nil, fmt.Errorf("-files %q: %w", glob, err)
	}
	var out []mutant
	for _, name := range names {
		base := filepath.Base(name)
		if ok, _ := filepath.Match(glob, base); !ok || strings.HasSuffix(base, "_test.go") {
			continue
		}
		rel := filepath.Join(pkg, base)
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", rel, err)
		}
		for i, s := range sitesOf(f) {
			out = append(out, mutant{file: rel, index: i, pos: fset.Position(s.pos), desc: s.desc})
		}
	}
	return out, nil
}

// sample keeps at most max of ms, chosen by seed, in their original order;
// max <= 0 keeps all.
func sample(ms []mutant, max int, seed int64) []mutant {
	if max <= 0 || max >= len(ms) {
		return ms
	}
	idx := rand.New(rand.NewSource(seed)).Perm(len(ms))[:max]
	sort.Ints(idx)
	out := make([]mutant, 0, max)
	for _, i := range idx {
		out = append(out, ms[i])
	}
	return out
}

// mutate is the source of m's file with m applied, read from src (the
// file's original text).
func mutate(m mutant, src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, m.file, src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", m.file, err)
	}
	sites := sitesOf(f)
	if m.index >= len(sites) {
		return nil, fmt.Errorf("%s: site %d of %d: the file changed since the mutants were listed", m.file, m.index, len(sites))
	}
	sites[m.index].apply()
	var b bytes.Buffer
	if err := (&printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}).Fprint(&b, fset, f); err != nil {
		return nil, fmt.Errorf("print %s: %w", m, err)
	}
	return b.Bytes(), nil
}

// readOriginal reads a file of the copy before any mutant touches it.
func readOriginal(root, file string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return b, nil
}
