package sops

import (
	"bytes"
	"strconv"
	"strings"
)

// loadDotenv loads a dotenv file as SOPS' dotenv store does: one NAME=value
// a line (the name is all before the first "=", nothing trimmed, "\n" in a
// value a newline), a line starting with "#" a comment, empty lines
// skipped.
func loadDotenv(text []byte) ([]branch, error) {
	var b branch
	for i, line := range bytes.Split(text, []byte("\n")) {
		switch {
		case len(line) == 0:
		case line[0] == '#':
			b = append(b, item{key: comment{string(line[1:])}})
		default:
			name, value, ok := bytes.Cut(line, []byte("="))
			if !ok {
				return nil, &parseError{line: i + 1, why: `a line without "="`}
			}
			b = append(b, item{key: string(name), value: strings.ReplaceAll(string(value), `\n`, "\n")})
		}
	}
	return []branch{b}, nil
}

// Flattened metadata keys: sops_age__list_0__map_recipient is the
// recipient of the first entry of the list under "age".
const (
	flatMapSep  = "__map_"
	flatListSep = "__list_"
)

// takeDotenvMetadata removes the sops_ variables from b and unflattens them
// into the metadata's tree, or nil when there are none.
func takeDotenvMetadata(b branch) (branch, any, error) {
	root := &flatNode{}
	found := false
	kept := b[:0]
	for _, it := range b {
		name, ok := it.key.(string)
		if !ok || !strings.HasPrefix(name, metadataKey+"_") {
			kept = append(kept, it)
			continue
		}
		found = true
		if err := root.place(flatPath(strings.TrimPrefix(name, metadataKey+"_")), it.value); err != nil {
			return nil, nil, err
		}
	}
	if !found {
		return kept, nil, nil
	}
	md, err := root.tree()
	return kept, md, err
}

// flatStep is one step of a flattened key's path: a map key, or a list
// index when list.
type flatStep struct {
	key   string
	index int
	list  bool
}

// flatPath splits a flattened key at its separators.
func flatPath(key string) []flatStep {
	var steps []flatStep
	cur := flatStep{}
	start := 0
	finish := func(end int) {
		if cur.list {
			cur.index, _ = strconv.Atoi(key[start:end]) // SOPS reads a bad index as 0
		} else {
			cur.key = key[start:end]
		}
		steps = append(steps, cur)
	}
	for i := 0; i < len(key); {
		switch {
		case strings.HasPrefix(key[i:], flatMapSep):
			finish(i)
			cur, i = flatStep{}, i+len(flatMapSep)
			start = i
		case strings.HasPrefix(key[i:], flatListSep):
			finish(i)
			cur, i = flatStep{list: true}, i+len(flatListSep)
			start = i
		default:
			i++
		}
	}
	finish(len(key))
	return steps
}

// flatNode gathers the flattened keys under one path.
type flatNode struct {
	value    any
	hasValue bool
	keys     map[string]*flatNode
	indices  map[int]*flatNode
}

func (n *flatNode) place(path []flatStep, value any) error {
	for _, s := range path {
		var next *flatNode
		if s.list {
			if n.indices == nil {
				n.indices = map[int]*flatNode{}
			}
			if next = n.indices[s.index]; next == nil {
				next = &flatNode{}
				n.indices[s.index] = next
			}
		} else {
			if n.keys == nil {
				n.keys = map[string]*flatNode{}
			}
			if next = n.keys[s.key]; next == nil {
				next = &flatNode{}
				n.keys[s.key] = next
			}
		}
		n = next
	}
	if n.hasValue {
		return &parseError{why: "a SOPS metadata variable given twice"}
	}
	n.value, n.hasValue = value, true
	return nil
}

// tree is the node as a plain value: a map (map[string]any), a list or
// the value.
func (n *flatNode) tree() (any, error) {
	kinds := 0
	for _, has := range []bool{n.hasValue, len(n.keys) > 0, len(n.indices) > 0} {
		if has {
			kinds++
		}
	}
	switch {
	case kinds > 1:
		return nil, &parseError{why: "SOPS metadata variables that disagree on a key's type"}
	case n.hasValue:
		return n.value, nil
	case len(n.indices) > 0:
		list := make([]any, len(n.indices))
		for i, sub := range n.indices {
			if i < 0 || i >= len(list) {
				return nil, &parseError{why: "a SOPS metadata list with a missing entry"}
			}
			v, err := sub.tree()
			if err != nil {
				return nil, err
			}
			list[i] = v
		}
		return list, nil
	}
	m := map[string]any{}
	for k, sub := range n.keys {
		v, err := sub.tree()
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}
