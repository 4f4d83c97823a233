package fieldedit

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlFile walks one parsed YAML (or JSON) file for the sites of a path.
// The parser gives where each node starts; where it ends is found in the
// text by the rules of its style.
type yamlFile struct {
	*lines
	path  Path
	syn   syntax
	sites []site
}

func yamlSites(name string, src []byte, p Path, isJSON bool) ([]site, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil // empty, or not a desired-state file: the loader says which
	}
	w := &yamlFile{lines: newLines(name, src), path: p, syn: syntaxYAML}
	if isJSON {
		w.syn = syntaxJSON
	}
	top := doc.Content[0]
	w.sites = append(w.sites, w.parentSite(top, 0))
	w.walkMap(nil, top, 0, isFlow(top))
	if usesAnchors(top) {
		// An edit could cut an anchor out from under its aliases.
		const why = "the file uses YAML anchors and aliases"
		for i := range w.sites {
			w.sites[i].setWhy, w.sites[i].removeWhy, w.sites[i].addWhy = why, why, why
		}
	}
	return w.sites, nil
}

// usesAnchors reports whether n or a node below it has an anchor or is an
// alias.
func usesAnchors(n *yaml.Node) bool {
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if usesAnchors(c) {
			return true
		}
	}
	return false
}

func isFlow(n *yaml.Node) bool { return n.Style&yaml.FlowStyle != 0 }

func (w *yamlFile) off(n *yaml.Node) int { return w.offset(n.Line, n.Column) }

// walkMap looks in the mapping m (the value of key, when it has one) for
// path[depth]; flow says whether m is written in flow style or inside it.
func (w *yamlFile) walkMap(key, m *yaml.Node, depth int, flow bool) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value != w.path[depth] {
			continue
		}
		if depth+1 == len(w.path) {
			w.sites = append(w.sites, w.fieldSite(yamlField{mapKey: key, parent: m, key: k, value: v, flow: flow}))
			continue
		}
		w.below(k, v, depth+1, flow || isFlow(v))
	}
}

// below looks inside v, the value of k and of path[:depth].
func (w *yamlFile) below(k, v *yaml.Node, depth int, flow bool) {
	switch v.Kind {
	case yaml.MappingNode:
		w.sites = append(w.sites, w.parentSite(v, depth))
		w.walkMap(k, v, depth, flow)
	case yaml.SequenceNode:
		i, ok := index(w.path[depth])
		if !ok || i >= len(v.Content) {
			return
		}
		e := v.Content[i]
		if depth+1 == len(w.path) {
			s := w.fieldSite(yamlField{parent: v, value: e, flow: flow})
			s.removeWhy = "a list element is not removed alone; set the whole list"
			w.sites = append(w.sites, s)
			return
		}
		if e.Kind == yaml.MappingNode {
			w.sites = append(w.sites, w.parentSite(e, depth+1))
			w.walkMap(nil, e, depth+1, flow || isFlow(e))
		}
	}
}

// yamlField is one key and its value in a mapping (or, with no key, an
// element of a list).
type yamlField struct {
	mapKey     *yaml.Node // the key whose value parent is, when it has one
	parent     *yaml.Node
	key, value *yaml.Node
	flow       bool
}

func (w *yamlFile) fieldSite(f yamlField) site {
	s := site{file: w.name, depth: len(w.path), pos: w.pos(w.off(f.value))}
	start, end, block, why := w.valueRange(f)
	if why != "" {
		s.setWhy = why
	} else {
		s.set = func(value any) splice {
			if block {
				return splice{start, end, " " + render(value, false) + "\n"}
			}
			text := render(value, false)
			if start > 0 && w.src[start-1] == ':' {
				text = " " + text // an empty value right after its key's colon
			}
			return splice{start, end, text}
		}
	}
	s.remove, s.removeWhy = w.removal(f, end, why)
	return s
}

// valueRange is the text of a field's value: a scalar or flow collection
// as written, or, for a block value (a block mapping, list or scalar),
// everything from its key's colon to the end of its last line (block).
func (w *yamlFile) valueRange(f yamlField) (start, end int, block bool, why string) {
	v := f.value
	start = w.off(v)
	switch {
	case v.Kind == yaml.AliasNode || v.Anchor != "":
		return 0, 0, false, "the value is a YAML alias or anchor"
	case v.Style&yaml.TaggedStyle != 0:
		return 0, 0, false, "the value has an explicit YAML tag"
	case v.Kind == yaml.ScalarNode && v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0:
		end, why = w.scalarEnd(v, f.flow)
		return start, end, false, why
	case v.Kind != yaml.ScalarNode && isFlow(v):
		end, why = w.flowEnd(start)
		return start, end, false, why
	case f.key == nil:
		return 0, 0, false, "a list element written as a block"
	}
	colon, why := w.colonAfter(f.key)
	if why != "" {
		return 0, 0, false, why
	}
	return colon + 1, w.blockEnd(f.key, v), true, ""
}

// colonAfter finds the colon that ends a block mapping's key.
func (w *yamlFile) colonAfter(k *yaml.Node) (int, string) {
	end, why := w.scalarEnd(k, false)
	if why != "" {
		return 0, why
	}
	for end < len(w.src) && (w.src[end] == ' ' || w.src[end] == '\t') {
		end++
	}
	if end >= len(w.src) || w.src[end] != ':' {
		return 0, "a key written in a form not edited in place"
	}
	return end, ""
}

// scalarEnd finds where a scalar that starts on its node's position ends.
func (w *yamlFile) scalarEnd(v *yaml.Node, flow bool) (int, string) {
	start := w.off(v)
	switch {
	case v.Style&yaml.DoubleQuotedStyle != 0:
		for i := start + 1; i < len(w.src); i++ {
			switch w.src[i] {
			case '\\':
				i++
			case '"':
				return i + 1, ""
			}
		}
	case v.Style&yaml.SingleQuotedStyle != 0:
		for i := start + 1; i < len(w.src); i++ {
			if w.src[i] == '\'' {
				if i+1 < len(w.src) && w.src[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, ""
			}
		}
	default:
		end := start
		for end < len(w.src) && !w.plainEnds(start, end, flow) {
			end++
		}
		end = start + len(bytes.TrimRight(w.src[start:end], " \t\r"))
		if string(w.src[start:end]) == v.Value {
			return end, ""
		}
		return 0, "a plain scalar written over several lines"
	}
	return 0, "an unterminated quoted scalar"
}

// plainEnds reports whether a plain scalar that starts at start ends
// before src[at]: at a line's end, a comment, a colon and a space (the end
// of a key), or, in flow style, a comma or a closing bracket.
func (w *yamlFile) plainEnds(start, at int, flow bool) bool {
	c := w.src[at]
	spaceAround := func(i int) bool {
		return i < 0 || i >= len(w.src) || strings.IndexByte(" \t\r\n", w.src[i]) >= 0 || (flow && strings.IndexByte(",[]{}", w.src[i]) >= 0)
	}
	switch {
	case c == '\n':
		return true
	case flow && strings.IndexByte(",]}", c) >= 0:
		return true
	case c == '#':
		return at > start && spaceAround(at-1)
	case c == ':':
		return spaceAround(at + 1)
	}
	return false
}

// flowEnd finds the bracket that closes the flow collection opening at
// start.
func (w *yamlFile) flowEnd(start int) (int, string) {
	depth := 0
	for i := start; i < len(w.src); i++ {
		switch c := w.src[i]; c {
		case '"', '\'':
			n := &yaml.Node{Style: yaml.DoubleQuotedStyle}
			if c == '\'' {
				n.Style = yaml.SingleQuotedStyle
			}
			line := w.lineOf(i)
			n.Line, n.Column = line, 1+len([]rune(string(w.src[w.start[line-1]:i])))
			end, why := w.scalarEnd(n, true)
			if why != "" {
				return 0, why
			}
			i = end - 1
		case '[', '{':
			depth++
		case ']', '}':
			if depth--; depth == 0 {
				return i + 1, ""
			}
		case '#':
			if i > 0 && (w.src[i-1] == ' ' || w.src[i-1] == '\t' || w.src[i-1] == '\n') {
				i = w.lineEnd(i) - 1
			}
		}
	}
	return 0, "an unterminated flow collection"
}

// blockEnd is the offset past the last line of a block value under key k:
// the lines after k's that are indented deeper than it (or, for a list,
// start with "-" at its column), comments and blank lines between them
// included.
func (w *yamlFile) blockEnd(k, v *yaml.Node) int {
	keyCol := k.Column - 1
	end := w.lineEnd(w.off(k))
	for at := end; at < len(w.src); {
		next := w.lineEnd(at)
		line := strings.TrimRight(string(w.src[at:next]), "\r\n")
		text := strings.TrimLeft(line, " ")
		indent := len([]rune(line)) - len([]rune(text))
		switch {
		case text == "" || strings.HasPrefix(text, "#"):
		case indent > keyCol || (v.Kind == yaml.SequenceNode && indent == keyCol && strings.HasPrefix(text, "-")):
			end = next
		default:
			return end
		}
		at = next
	}
	return end
}

// removal takes a key and its value out of their mapping. The last key of
// a block mapping under another key leaves that key an empty mapping, {}.
func (w *yamlFile) removal(f yamlField, valueEnd int, valueWhy string) (splice, string) {
	if f.key == nil {
		return splice{}, "not a key"
	}
	keyStart := w.off(f.key)
	if isFlow(f.parent) {
		if valueWhy != "" {
			return splice{}, valueWhy
		}
		return w.cutFlow(keyStart, valueEnd), ""
	}
	if !w.blankBefore(keyStart) {
		return splice{}, "a key that shares its line with a list's dash"
	}
	if len(f.parent.Content) == 2 && f.mapKey != nil {
		colon, why := w.colonAfter(f.mapKey)
		if why != "" {
			return splice{}, why
		}
		return splice{colon + 1, w.blockEnd(f.mapKey, f.parent), " {}\n"}, ""
	}
	return splice{w.lineStart(keyStart), w.blockEnd(f.key, f.value), ""}, ""
}

// cutFlow removes src[start:end], an entry of a flow collection, with the
// comma after it or, for the last entry, the comma before it.
func (w *yamlFile) cutFlow(start, end int) splice {
	space := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	after := end
	for after < len(w.src) && space(w.src[after]) {
		after++
	}
	if after < len(w.src) && w.src[after] == ',' {
		after++
		for after < len(w.src) && space(w.src[after]) {
			after++
		}
		return splice{start, after, ""}
	}
	before := start
	for before > 0 && space(w.src[before-1]) {
		before--
	}
	if before > 0 && w.src[before-1] == ',' {
		return splice{before - 1, end, ""}
	}
	return splice{start, end, ""}
}

// parentSite is a site that writes path[:depth] as the mapping m: a key
// below it is written as the first entry of a flow mapping, or on a line
// of its own after the last entry of a block mapping.
func (w *yamlFile) parentSite(m *yaml.Node, depth int) site {
	start := w.off(m)
	s := site{file: w.name, depth: depth, pos: w.pos(start)}
	switch {
	case isFlow(m) && start < len(w.src) && w.src[start] == '{':
		s.add = func(rest Path, value any) splice {
			text := nest(rest, value, w.syn)
			if len(m.Content) > 0 {
				text += ", "
			}
			return splice{start + 1, start + 1, text}
		}
	case isFlow(m) || len(m.Content) < 2 || m.Anchor != "":
		s.addWhy = "a mapping written in a form not edited in place"
	default:
		k, v := m.Content[len(m.Content)-2], m.Content[len(m.Content)-1]
		s.add = func(rest Path, value any) splice {
			end := w.blockEnd(k, v)
			text := strings.Repeat(" ", k.Column-1) + nest(rest, value, w.syn) + "\n"
			if end == len(w.src) && end > 0 && w.src[end-1] != '\n' {
				text = "\n" + text
			}
			return splice{end, end, text}
		}
	}
	return s
}
