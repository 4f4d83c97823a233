package hostconfig

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder walks the YAML tree of a host file, collecting every problem with
// its position instead of stopping at the first.
type decoder struct {
	file string
	errs Errors
	pos  []position // of errs, to sort them
}

type position struct{ line, col int }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, fmt.Sprintf("%s:%d:%d: %s", d.file, n.Line, n.Column, fmt.Sprintf(format, args...)))
	d.pos = append(d.pos, position{n.Line, n.Column})
}

// mapping returns the values of a mapping node by key, reporting a node that
// is not a mapping, aliases, duplicate keys and keys not in known (any key
// when known is empty is allowed, as a name).
func (d *decoder) mapping(n *yaml.Node, where string, known ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		d.errorf(n, "%s: YAML anchors and aliases are not supported in the host file; write the value out", where)
		return out
	}
	if n.Kind != yaml.MappingNode {
		if len(known) > 0 {
			d.errorf(n, "%s must be a mapping with the fields %s", where, strings.Join(known, ", "))
		} else {
			d.errorf(n, "%s must be a mapping of names to entries", where)
		}
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: a key must be a plain string", where)
			continue
		}
		if _, dup := out[k.Value]; dup {
			d.errorf(k, "%s: %s is written twice; keep one", where, k.Value)
			continue
		}
		if len(known) > 0 && !slices.Contains(known, k.Value) {
			d.errorf(k, "%s: unknown field %q (known: %s)", where, k.Value, strings.Join(known, ", "))
			continue
		}
		out[k.Value] = v
	}
	return out
}

// section decodes one of plugins, docker, haproxy, routers into c.
func (d *decoder) section(key string, n *yaml.Node, c *Config) {
	for name, entry := range d.mapping(n, key) {
		where := key + "." + name
		if !validName(name) {
			d.errorf(keyNode(n, name), "%s: %q is not a name; name it with 1 to 63 lowercase letters, digits or '-', starting with a letter or digit, as the repository will refer to it", key, name)
			continue
		}
		switch key {
		case "plugins":
			c.Plugins[name] = d.plugin(entry, where)
		case "docker":
			fields := d.mapping(entry, where, "host")
			c.Docker[name] = Docker{Host: d.required(entry, fields, where, "host", checkDockerHost)}
		case "haproxy":
			fields := d.mapping(entry, where, "socket")
			c.HAProxy[name] = HAProxy{Socket: d.required(entry, fields, where, "socket", checkSocket)}
		case "routers":
			fields := d.mapping(entry, where, "admin", "tokenFile")
			r := Router{Admin: d.required(entry, fields, where, "admin", checkAdmin)}
			if t, ok := fields["tokenFile"]; ok {
				r.TokenFile = d.value(t, where+".tokenFile", checkTokenFile)
			}
			c.Routers[name] = r
		}
	}
}

// plugin decodes one exec plug-in.
func (d *decoder) plugin(n *yaml.Node, where string) Plugin {
	fields := d.mapping(n, where, "command", "timeout", "longLived")
	var p Plugin
	cmd, ok := fields["command"]
	switch {
	case !ok:
		if n.Kind == yaml.MappingNode {
			d.errorf(n, "%s: command is missing; write command: [\"/ABSOLUTE/PATH/OF/PROGRAM\", \"ARG\", ...]", where)
		}
	case cmd.Kind != yaml.SequenceNode || len(cmd.Content) == 0:
		d.errorf(cmd, "%s.command must be a list of strings, the program's absolute path first, e.g. [\"/usr/bin/python3\", \"/opt/durable/adapter.py\"]", where)
	default:
		for i, arg := range cmd.Content {
			if arg.Kind != yaml.ScalarNode || arg.Tag != "!!str" {
				d.errorf(arg, "%s.command[%d] must be a string; quote it", where, i)
				continue
			}
			p.Command = append(p.Command, arg.Value)
		}
		if len(p.Command) == len(cmd.Content) {
			if err := checkExecutable(p.Command[0]); err != nil {
				d.errorf(cmd.Content[0], "%s.command[0]: %s", where, err)
			}
		}
	}
	if t, ok := fields["timeout"]; ok {
		s := d.value(t, where+".timeout", checkTimeout)
		p.Timeout, _ = time.ParseDuration(s)
	}
	if l, ok := fields["longLived"]; ok {
		p.LongLived = d.boolean(l, where+".longLived")
	}
	return p
}

// boolean is a YAML true or false, never a string that looks like one.
func (d *decoder) boolean(n *yaml.Node, where string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.errorf(n, "%s must be true or false, unquoted", where)
		return false
	}
	v, err := strconv.ParseBool(n.Value)
	if err != nil {
		d.errorf(n, "%s must be true or false, unquoted", where)
	}
	return v
}

// required is the string field of an entry, reported when missing.
func (d *decoder) required(entry *yaml.Node, fields map[string]*yaml.Node, where, field string, check func(string) error) string {
	n, ok := fields[field]
	if !ok {
		if entry.Kind == yaml.MappingNode {
			d.errorf(entry, "%s: %s is missing; %s", where, field, hint(field))
		}
		return ""
	}
	return d.value(n, where+"."+field, check)
}

// value is a string scalar that passes check.
func (d *decoder) value(n *yaml.Node, where string, check func(string) error) string {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		d.errorf(n, "%s must be a string; %s", where, hint(where[strings.LastIndex(where, ".")+1:]))
		return ""
	}
	if err := check(n.Value); err != nil {
		d.errorf(n, "%s: %q %s", where, n.Value, err)
		return ""
	}
	return n.Value
}

// keyNode is the key node of name in mapping n, for its position.
func keyNode(n *yaml.Node, name string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == name {
			return n.Content[i]
		}
	}
	return n
}

// sortErrors orders d's errors by position.
func (d *decoder) sortErrors() Errors {
	idx := make([]int, len(d.errs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(d.pos[a].line, d.pos[b].line), cmp.Compare(d.pos[a].col, d.pos[b].col))
	})
	out := make(Errors, len(idx))
	for i, j := range idx {
		out[i] = d.errs[j]
	}
	return out
}
