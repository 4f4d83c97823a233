package sops

import (
	"bytes"
	"errors"
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
		b, err := yamlMapping(&doc, branch{}, false)
		if err != nil {
			return nil, err
		}
		docs = append(docs, b)
	}
}

// yamlMapping appends the items of node, a document or a mapping, to b.
// commentsDone says the caller already placed node's head and line
// comments.
func yamlMapping(node *yaml.Node, b branch, commentsDone bool) (branch, error) {
	if !commentsDone {
		b = appendYAMLComments(b, node.HeadComment)
		b = appendYAMLComments(b, node.LineComment)
	}
	var err error
	switch node.Kind {
	case yaml.DocumentNode:
		for _, n := range node.Content {
			if b, err = yamlMapping(n, b, false); err != nil {
				return nil, err
			}
		}
	case yaml.SequenceNode:
		return nil, &parseError{line: node.Line, why: "a document that is a list; SOPS reads a mapping"}
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			b = appendYAMLComments(b, k.HeadComment)
			b = appendYAMLComments(b, k.LineComment)
			// A scalar's comments sit beside its key; a mapping's or a
			// list's go inside it.
			scalar := v.Kind == yaml.ScalarNode || v.Kind == yaml.AliasNode
			if scalar {
				b = appendYAMLComments(b, v.HeadComment)
				b = appendYAMLComments(b, v.LineComment)
			}
			var key any
			_ = k.Decode(&key) // SOPS ignores the error too: the key stays nil
			value, err := yamlValue(v, scalar)
			if err != nil {
				return nil, err
			}
			b = append(b, item{key: key, value: value})
			if scalar {
				b = appendYAMLComments(b, v.FootComment)
			}
			b = appendYAMLComments(b, k.FootComment)
		}
	case yaml.ScalarNode:
		if node.ShortTag() == "!!null" {
			return b, nil
		}
		return nil, &parseError{line: node.Line, why: "a document that is a single value; SOPS reads a mapping"}
	case yaml.AliasNode:
		if b, err = yamlMapping(node.Alias, b, false); err != nil {
			return nil, err
		}
	}
	if !commentsDone {
		b = appendYAMLComments(b, node.FootComment)
	}
	return b, nil
}

// yamlValue is the tree value of node. commentsDone says the caller already
// placed node's own comments.
func yamlValue(node *yaml.Node, commentsDone bool) (any, error) {
	switch node.Kind {
	case yaml.SequenceNode:
		var list []any
		if !commentsDone {
			list = appendYAMLListComments(list, node.HeadComment)
			list = appendYAMLListComments(list, node.LineComment)
		}
		for _, n := range node.Content {
			list = appendYAMLListComments(list, n.HeadComment)
			list = appendYAMLListComments(list, n.LineComment)
			v, err := yamlValue(n, true)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			list = appendYAMLListComments(list, n.FootComment)
		}
		if !commentsDone {
			list = appendYAMLListComments(list, node.FootComment)
		}
		return list, nil
	case yaml.MappingNode:
		return yamlMapping(node, branch{}, commentsDone)
	case yaml.ScalarNode:
		var v any
		_ = node.Decode(&v) // as SOPS: a scalar that does not decode is null
		return v, nil
	case yaml.AliasNode:
		return yamlValue(node.Alias, false)
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

func appendYAMLComments(b branch, text string) branch {
	for _, c := range yamlCommentLines(text) {
		b = append(b, item{key: comment{c}})
	}
	return b
}

func appendYAMLListComments(list []any, text string) []any {
	for _, c := range yamlCommentLines(text) {
		list = append(list, comment{c})
	}
	return list
}
