package fieldedit

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// render writes a JSON-shaped value on one line, as CUE (labels unquoted
// where they can be) or as JSON, which YAML reads as a flow value.
func render(v any, cue bool) string {
	var b strings.Builder
	write(&b, v, cue)
	return b.String()
}

func write(b *strings.Builder, v any, cue bool) {
	switch v := v.(type) {
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				b.WriteString(", ")
			}
			if cue {
				b.WriteString(cueLabel(k))
			} else {
				b.WriteString(quote(k))
			}
			b.WriteString(": ")
			write(b, v[k], cue)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			write(b, e, cue)
		}
		b.WriteByte(']')
	case string:
		b.WriteString(quote(v))
	default:
		data, err := json.Marshal(v)
		if err != nil {
			data = []byte("null") // not JSON-shaped: the load that checks the edit refuses it
		}
		b.Write(data)
	}
}

// syntax is the language of the file a field is written into.
type syntax int

const (
	syntaxCUE syntax = iota
	syntaxYAML
	syntaxJSON
)

// nest writes the remaining labels of a path and the value as one
// declaration: a: b: value in CUE, a: {"b": value} in YAML and JSON.
func nest(rest Path, value any, syn syntax) string {
	if syn == syntaxCUE {
		labels := make([]string, len(rest))
		for i, l := range rest {
			labels[i] = cueLabel(l)
		}
		return strings.Join(labels, ": ") + ": " + render(value, true)
	}
	for i := len(rest) - 1; i > 0; i-- {
		value = map[string]any{rest[i]: value}
	}
	return yamlKey(rest[0], syn) + ": " + render(value, false)
}

// plainKey is a YAML key written without quotes that YAML reads as the
// same string (not a boolean, a null or a number).
var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// yamlSpecial are plain words YAML (1.1 or 1.2) may read as something
// other than a string.
var yamlSpecial = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true,
	"true": true, "false": true, "null": true}

func yamlKey(k string, syn syntax) string {
	if syn == syntaxYAML && plainKey.MatchString(k) && !yamlSpecial[strings.ToLower(k)] {
		return k
	}
	return quote(k)
}

// writable checks that every label of p and every string of value can be
// written so that CUE, YAML and JSON read it back unchanged (see quote).
func writable(p Path, value any) error {
	for _, l := range p {
		if !faithful(l) {
			return fmt.Errorf("label %q cannot be written as it is: it holds invalid UTF-8 or a character none of CUE, YAML and JSON escape alike", l)
		}
	}
	var bad error
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if !faithful(v) && bad == nil {
				bad = fmt.Errorf("value %q cannot be written as it is: it holds invalid UTF-8 or a character none of CUE, YAML and JSON escape alike", v)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for k, e := range v {
				walk(k)
				walk(e)
			}
		}
	}
	walk(value)
	return bad
}

// faithful reports whether quote writes s without replacing a character.
func faithful(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r > 0xFFFF && !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
