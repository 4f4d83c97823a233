package notify

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Errors is every problem of a notifications file, each "file:line:col:
// what is wrong; how to fix it", in the file's order.
type Errors []string

func (es Errors) Error() string { return strings.Join(es, "\n") }

// decoder walks the YAML tree of a notifications file, collecting every
// problem with its position instead of stopping at the first.
type decoder struct {
	file string
	errs []positioned
}

type positioned struct {
	line, col int
	msg       string
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, positioned{n.Line, n.Column, fmt.Sprintf("%s:%d:%d: %s", d.file, n.Line, n.Column, fmt.Sprintf(format, args...))})
}

// sorted is d's errors in the file's order.
func (d *decoder) sorted() Errors {
	slices.SortStableFunc(d.errs, func(a, b positioned) int {
		return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.col, b.col))
	})
	out := make(Errors, len(d.errs))
	for i, e := range d.errs {
		out[i] = e.msg
	}
	return out
}

// field is one key of a mapping and its value, in file order.
type field struct{ key, value *yaml.Node }

// mapping returns the fields of a mapping node in file order, reporting a
// node that is not a mapping, anchors and aliases, duplicate keys and keys
// not in known (any key, a name, when known is empty).
func (d *decoder) mapping(n *yaml.Node, where string, known ...string) []field {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		d.errorf(n, "%s: YAML anchors and aliases are not supported in the notifications file; write the value out", where)
		return nil
	}
	if n.Kind != yaml.MappingNode {
		if len(known) > 0 {
			d.errorf(n, "%s must be a mapping with the fields %s", where, strings.Join(known, ", "))
		} else {
			d.errorf(n, "%s must be a mapping of names to sinks", where)
		}
		return nil
	}
	var out []field
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			d.errorf(k, "%s: a key must be a plain string", where)
		case seen[k.Value]:
			d.errorf(k, "%s: %s is written twice; keep one", where, k.Value)
		case len(known) > 0 && !slices.Contains(known, k.Value):
			d.errorf(k, "%s: unknown field %q (known: %s)", where, k.Value, strings.Join(known, ", "))
		default:
			seen[k.Value] = true
			out = append(out, field{k, v})
		}
	}
	return out
}

// str is a string scalar, or "" with an error saying how to write it.
func (d *decoder) str(n *yaml.Node, where, how string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		d.errorf(n, "%s must be a string; %s", where, how)
		return "", false
	}
	return n.Value, true
}

// integer is an integer scalar from lo to hi.
func (d *decoder) integer(n *yaml.Node, where string, lo, hi int) int {
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil || v < lo || v > hi {
		d.errorf(n, "%s must be a whole number from %d to %d", where, lo, hi)
		return 0
	}
	return v
}

// list is the items of a sequence node.
func (d *decoder) list(n *yaml.Node, where, how string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list; %s", where, how)
		return nil
	}
	return n.Content
}
