package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const smallFile = `package p

import "errors"

func f(a, b int, ok bool) (int, error) {
	if a < b && ok {
		return 0, errors.New("x")
	}
	if err := g(); err != nil {
		return 0, err
	}
	return a + 2, nil
}

func g() error { return nil }
`

// TestSitesOfASmallFile lists the mutants of a small file, in source
// order, and checks that each one prints as Go that parses and differs
// from the original.
func TestSitesOfASmallFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(smallFile), 0o644); err != nil {
		t.Fatal(err)
	}
	ms, err := listMutants(dir, ".", "*.go")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.String())
		src, err := mutate(m, []byte(smallFile))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0); err != nil || string(src) == smallFile {
			t.Errorf("%s: mutant does not parse or changes nothing: %v\n%s", m, err, src)
		}
	}
	want := []string{
		"p.go:6:2: if condition negated",
		"p.go:6:11: `&&` → `||`",
		"p.go:6:7: `<` → `<=`",
		"p.go:6:7: `<` → `>=`",
		"p.go:7:10: 0 → 1",
		"p.go:9:2: early `return err` dropped (condition false)",
		"p.go:9:21: `!=` → `==`",
		"p.go:10:10: 0 → 1",
		"p.go:12:13: 2 → 3",
		"p.go:12:13: 2 → 0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("mutants:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSampleIsDeterministic: the same seed picks the same mutants, in
// source order.
func TestSampleIsDeterministic(t *testing.T) {
	var ms []mutant
	for i := range 20 {
		ms = append(ms, mutant{index: i})
	}
	a, b := sample(ms, 5, 7), sample(ms, 5, 7)
	for i := range a {
		if a[i].index != b[i].index || (i > 0 && a[i].index <= a[i-1].index) {
			t.Fatalf("samples %v and %v", a, b)
		}
	}
	if len(sample(ms, 0, 7)) != 20 || len(a) != 5 {
		t.Fatalf("sizes %d, %d", len(sample(ms, 0, 7)), len(a))
	}
}
