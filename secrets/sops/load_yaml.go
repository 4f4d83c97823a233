package sops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// loadYAML loads every document of a YAML file as SOPS' YAML store does:
// the same parser, comments kept where the store keeps them (they take part
// in the encrypted_comment_regex and unencrypted_comment_regex rules), a
// document that is null empty, one that is a list or a single value
// refused.
func loadYAML(text []byte) ([]branch, error) {
	if len(text) > 0 {
		// SOPS first decodes the first document into a map: that refuses
		// a key given twice, and a first document that is not a mapping.
		if err := yaml.NewDecoder(bytes.NewReader(text)).Decode(map[string]any{}); err != nil {
			return nil, err
		}
	}
	var docs []branch
	load := &yamlLoad{budget: maxYAMLValues}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		b, err := load.mapping(&doc, branch{}, false)
		if err != nil {
			return nil, err
		}
		docs = append(docs, b)
	}
}

// maxYAMLValues bounds the values and comments a YAML file loads as. A file
// within MaxFileBytes has fewer, unless aliases repeat a part of it: SOPS
// expands them, and a few lines of aliases to aliases would expand to
// billions (yaml.v3 refuses that in the first document, which SOPS decodes
// first, but not in the others).
const maxYAMLValues = 1 << 20

// yamlLoad loads one file's documents, within its budget of values.
type yamlLoad struct {
	budget int
}

// spend takes n values from the budget, refusing the file when none is
// left.
func (l *yamlLoad) spend(node *yaml.Node, n int) error {
	if l.budget -= n; l.budget < 0 {
		return &parseError{line: node.Line, why: fmt.Sprintf("its aliases expand to more than %d values", maxYAMLValues)}
	}
	return nil
}

// mapping appends the items of node, a document or a mapping, to b.
// commentsDone says the caller already placed node's head and line
// comments.
func (l *yamlLoad) mapping(node *yaml.Node, b branch, commentsDone bool) (branch, error) {
	if !commentsDone {
		b = l.comments(b, node.HeadComment)
		b = l.comments(b, node.LineComment)
	}
	var err error
	switch node.Kind {
	case yaml.DocumentNode:
		for _, n := range node.Content {
			if b, err = l.mapping(n, b, false); err != nil {
				return nil, err
			}
		}
	case yaml.SequenceNode:
		return nil, &parseError{line: node.Line, why: "a document that is a list; SOPS reads a mapping"}
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			if err := l.spend(k, 1); err != nil {
				return nil, err
			}
			b = l.comments(b, k.HeadComment)
			b = l.comments(b, k.LineComment)
			// A scalar's comments sit beside its key; a mapping's or a
			// list's go inside it.
			scalar := v.Kind == yaml.ScalarNode || v.Kind == yaml.AliasNode
			if scalar {
				b = l.comments(b, v.HeadComment)
				b = l.comments(b, v.LineComment)
			}
			var key any
			_ = k.Decode(&key) // SOPS ignores the error too: the key stays nil
			value, err := l.value(v, scalar)
			if err != nil {
				return nil, err
			}
			b = append(b, item{key: key, value: value})
			if scalar {
				b = l.comments(b, v.FootComment)
			}
			b = l.comments(b, k.FootComment)
		}
	case yaml.ScalarNode:
		if node.ShortTag() == "!!null" {
			return b, nil
		}
		return nil, &parseError{line: node.Line, why: "a document that is a single value; SOPS reads a mapping"}
	case yaml.AliasNode:
		if b, err = l.mapping(node.Alias, b, false); err != nil {
			return nil, err
		}
	}
	if !commentsDone {
		b = l.comments(b, node.FootComment)
	}
	return b, nil
}

// value is the tree value of node. commentsDone says the caller already
// placed node's own comments.
func (l *yamlLoad) value(node *yaml.Node, commentsDone bool) (any, error) {
	if err := l.spend(node, 1); err != nil {
		return nil, err
	}
	switch node.Kind {
	case yaml.SequenceNode:
		var list []any
		if !commentsDone {
			list = l.listComments(list, node.HeadComment)
			list = l.listComments(list, node.LineComment)
		}
		for _, n := range node.Content {
			list = l.listComments(list, n.HeadComment)
			list = l.listComments(list, n.LineComment)
			v, err := l.value(n, true)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			list = l.listComments(list, n.FootComment)
		}
		if !commentsDone {
			list = l.listComments(list, node.FootComment)
		}
		return list, nil
	case yaml.MappingNode:
		return l.mapping(node, branch{}, commentsDone)
	case yaml.ScalarNode:
		var v any
		_ = node.Decode(&v) // as SOPS: a scalar that does not decode is null
		return v, nil
	case yaml.AliasNode:
		return l.value(node.Alias, false)
	case yaml.DocumentNode:
		return nil, &parseError{line: node.Line, why: "a document inside a document"}
	}
	return nil, nil
}

// yamlCommentLines are the lines of a comment yaml.v3 gives, each without
// its "#", blank lines left out.
func yamlCommentLines(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if line != "" {
			out = append(out, line[1:])
		}
	}
	return out
}

// comments appends the lines of a comment to b; they count against the
// budget, checked at the next value.
func (l *yamlLoad) comments(b branch, text string) branch {
	for _, c := range yamlCommentLines(text) {
		l.budget--
		b = append(b, item{key: comment{c}})
	}
	return b
}

func (l *yamlLoad) listComments(list []any, text string) []any {
	for _, c := range yamlCommentLines(text) {
		l.budget--
		list = append(list, comment{c})
	}
	return list
}
