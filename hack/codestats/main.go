// Command codestats prints the shape of the code the architecture promises:
// non-test lines per package, the functions over 80 lines, and the functions
// over 5 parameters. Run it from the repository's root:
//
//	go run ./hack/codestats [-v]
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const (
	maxLines  = 80
	maxParams = 5
)

func main() {
	verbose := flag.Bool("v", false, "list every long or wide function")
	flag.Parse()
	lines := map[string]int{}
	var long, wide []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		lines[filepath.Dir(path)] += fset.File(f.Pos()).LineCount()
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			name := fmt.Sprintf("%s:%d %s", path, fset.Position(fn.Pos()).Line, fn.Name.Name)
			if n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1; n > maxLines {
				long = append(long, fmt.Sprintf("%s (%d lines)", name, n))
			}
			if n := params(fn.Type); n > maxParams {
				wide = append(wide, fmt.Sprintf("%s (%d parameters)", name, n))
			}
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dirs := make([]string, 0, len(lines))
	for d := range lines {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		fmt.Printf("%6d  %s\n", lines[d], d)
	}
	fmt.Printf("functions over %d lines: %d\nfunctions over %d parameters: %d\n", maxLines, len(long), maxParams, len(wide))
	if *verbose {
		for _, s := range append(long, wide...) {
			fmt.Println("  " + s)
		}
	}
}

func params(t *ast.FuncType) int {
	n := 0
	for _, f := range t.Params.List {
		if len(f.Names) == 0 {
			n++
		}
		n += len(f.Names)
	}
	return n
}
