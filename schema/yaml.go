package schema

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"cuelang.org/go/cue/ast"
	cueyaml "cuelang.org/go/encoding/yaml"
	"go.yaml.in/yaml/v3"
)

// A repository may hold .yaml and .yml files at its root, next to its .cue
// files or instead of them. Each is one YAML document whose top level is a
// mapping of the fields a .cue file declares (services:, targets:,
// pipeline:). It joins the CUE package as one more file, so it is unified
// with #DesiredState like the CUE files, and CUE's positions in it are the
// YAML file's own line:col.
//
// CUE's encoding/yaml does the conversion. A first pass over the same YAML
// parser's node tree refuses, with a position, what that conversion would
// not bound or would quietly turn into something else: a second document, a
// top level that is not a mapping, a key written twice, and aliases that
// expand to more than a repository may hold.

// isYAML reports whether name is a YAML file. A .json file is one too:
// JSON is YAML, so it is read, checked and positioned the same way.
func isYAML(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".json")
}

// maxAliasExpansion bounds what the YAML aliases of one load may add, as the
// nodes plus the scalar bytes they copy. CUE's decoder copies an alias's
// value at every use and bounds only the number of nodes copied, so a long
// string aliased a few thousand times would cost gigabytes; the file caps
// bound what is written, this bounds what it expands to.
const maxAliasExpansion = MaxFileBytes

// aliasBudget is what YAML aliases have added so far in one load.
type aliasBudget struct {
	used int
}

// parseYAML converts one YAML file into a file of the desired-state package;
// an empty document is an empty file. budget is shared by the files of one
// load.
func parseYAML(src sourceFile, budget *aliasBudget) (*ast.File, Errors) {
	top, errs := scanYAML(src, budget)
	if errs != nil {
		return nil, errs
	}
	if top == nil {
		return &ast.File{Filename: src.name}, nil
	}
	f, err := extractYAML(src)
	if err != nil {
		return nil, Errors{decodeError(src.name, err)}
	}
	return f, nil
}

// extractYAML is CUE's conversion of a YAML file, which panics on some
// valid YAML (cuelang.org/go v0.17.1: an index out of range in its decoder
// on "\r\r\rr:\n    t:\n    n:\n#    two    ", FuzzLoad's finding): the
// panic is the file's error, and the revision is refused instead of the
// reconciler stopping.
func extractYAML(src sourceFile) (f *ast.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("CUE's YAML decoder failed on this file (%v): write it in CUE, or lay the YAML out plainly (no carriage returns, no comment at the end of a mapping)", p)
		}
	}()
	return cueyaml.Extract(src.name, src.data)
}

// scanYAML parses src and checks it before CUE converts it. It returns the
// top-level mapping, or nil for an empty document.
func scanYAML(src sourceFile, budget *aliasBudget) (*yaml.Node, Errors) {
	dec := yaml.NewDecoder(bytes.NewReader(src.data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, Errors{syntaxError(src.name, err)}
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		line, col := next.Line, next.Column
		if len(next.Content) > 0 {
			line, col = next.Content[0].Line, next.Content[0].Column
		}
		return nil, Errors{at(src.name, line, col,
			"a second YAML document; a file of desired state holds one document: move this one to a file of its own")}
	} else if !errors.Is(err, io.EOF) {
		return nil, Errors{syntaxError(src.name, err)}
	}
	if len(doc.Content) != 1 {
		return nil, nil
	}
	top := doc.Content[0]
	switch {
	case top.Kind == yaml.ScalarNode && top.ShortTag() == "!!null":
		// A document of "---" or "~" alone says nothing, like an empty file.
		return nil, nil
	case top.Kind != yaml.MappingNode:
		return nil, Errors{at(src.name, top.Line, top.Column, fmt.Sprintf(
			"the top level is %s; it must be a mapping of fields such as services:, targets: and pipeline:", yamlKind(top)))}
	}
	s := yamlScan{file: src.name, budget: budget, weights: map[*yaml.Node]int{}}
	s.walk(top)
	return top, s.errs
}

// yamlScan walks one YAML document before CUE sees it.
type yamlScan struct {
	file   string
	budget *aliasBudget
	// weights memoizes the expanded weight of anchored values; -1 marks one
	// being weighed, so that an alias inside its own anchor is caught.
	weights map[*yaml.Node]int
	errs    Errors
}

func (s *yamlScan) walk(n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		s.keys(n)
	case yaml.AliasNode:
		s.alias(n)
	}
	for _, c := range n.Content {
		s.walk(c)
	}
}

// keys refuses a key written twice in one mapping: YAML forbids it, and CUE
// would unify the two values rather than keep one, which no YAML reader
// expects.
func (s *yamlScan) keys(n *yaml.Node) {
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode || k.Value == "<<" {
			continue
		}
		if f, dup := first[k.Value]; dup {
			s.errs = append(s.errs, at(s.file, k.Line, k.Column, fmt.Sprintf(
				"key %s is already written at line %d of this mapping; write each key once", quoteShort(k.Value), f.Line)))
			continue
		}
		first[k.Value] = k
	}
}

// alias charges the budget with what the alias n expands to.
func (s *yamlScan) alias(n *yaml.Node) {
	if s.budget.used > maxAliasExpansion {
		return // already reported
	}
	w, ok := s.weight(n.Alias)
	if !ok {
		s.errs = append(s.errs, at(s.file, n.Line, n.Column, fmt.Sprintf(
			"alias *%s is inside the value it names; an alias cannot contain itself", n.Value)))
		return
	}
	s.budget.used += w
	if s.budget.used > maxAliasExpansion {
		s.errs = append(s.errs, at(s.file, n.Line, n.Column, fmt.Sprintf(
			"YAML aliases expand to more than %s in this repository, the limit; write the values out where they are used, or share them with CUE",
			mib(maxAliasExpansion))))
	}
}

// weight is the size of n once its aliases are expanded: one per node plus
// the bytes of its scalars, saturating just above maxAliasExpansion. It
// reports false when n contains an alias to itself.
func (s *yamlScan) weight(n *yaml.Node) (int, bool) {
	if n.Kind == yaml.AliasNode {
		return s.weight(n.Alias)
	}
	if w, seen := s.weights[n]; seen {
		return w, w >= 0
	}
	if n.Anchor != "" {
		// Only an anchored value can be reached again, through an alias.
		s.weights[n] = -1
	}
	w := 1 + len(n.Value)
	for _, c := range n.Content {
		cw, ok := s.weight(c)
		if !ok {
			return 0, false
		}
		w = min(w+cw, maxAliasExpansion+1)
	}
	if n.Anchor != "" {
		s.weights[n] = w
	}
	return w, true
}

// yamlKind names what a node is, for a message.
func yamlKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	default:
		return "a scalar (" + quoteShort(n.Value) + ")"
	}
}

// syntaxError positions an error of the YAML parser (go.yaml.in/yaml/v3,
// the one CUE uses). It gives no column, and a line only in its message:
// "yaml: line N: problem". Its scanner errors count lines from 1; its parser
// errors ("did not find expected …", and the few others below) count from 0
// and name the line where the construct being parsed starts. Either leaves
// the line out when it is the first one. An unknown anchor has no position
// at all and is reported against the whole file.
func syntaxError(file string, err error) Error {
	msg, _ := strings.CutPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, text, found := strings.Cut(rest, ": ")
		if n, err := strconv.Atoi(num); found && err == nil && n > 0 {
			line, msg = n, text
			if isParserProblem(msg) {
				line++
			}
		}
	} else if strings.HasPrefix(msg, "unknown anchor") {
		line = 0
	}
	col := 1
	if line == 0 {
		col = 0
	}
	return at(file, line, col, "syntax error: "+msg)
}

// isParserProblem tells the YAML parser's problems, whose lines count from
// 0, from its scanner's, whose lines count from 1.
func isParserProblem(msg string) bool {
	for _, p := range []string{"did not find expected", "found undefined tag handle", "found duplicate %", "found incompatible YAML document"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// decodeError positions an error of CUE's YAML conversion, which CUE writes
// as "FILE:LINE: problem" or "FILE: problem".
func decodeError(file string, err error) Error {
	msg, ok := strings.CutPrefix(err.Error(), file+":")
	if !ok {
		return Error{File: file, Message: err.Error()}
	}
	if num, text, found := strings.Cut(msg, ": "); found {
		if n, err := strconv.Atoi(num); err == nil && n > 0 {
			return at(file, n, 1, text)
		}
	}
	return Error{File: file, Message: strings.TrimSpace(msg)}
}
