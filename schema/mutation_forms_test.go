package schema

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The mutation suite writes each desired state it generates in each form a
// repository may use, and knows where it wrote every field, so that it can
// hold the loader's positions to them.

// form writes a desired state as one file of a repository.
type form struct {
	file  string
	write func(w *writer, state map[string]any)
}

// forms are the ways a repository may write its desired state.
var forms = []form{
	{"state.cue", writeCUE},
	{"state.yaml", writeYAML},
	{"state.json", writeJSON},
}

// place is where a field's label and value were written, 1-based.
type place struct{ keyLine, keyCol, valLine, valCol int }

// writer accumulates a file's text and the places of the fields in it, by
// their concrete path (placeKey).
type writer struct {
	b      strings.Builder
	line   int
	col    int
	places map[string]place
}

// newWriter is a writer at the start of an empty file.
func newWriter() *writer { return &writer{line: 1, col: 1, places: map[string]place{}} }

// put writes s, which holds no newline.
func (w *writer) put(s string) { w.b.WriteString(s); w.col += len(s) }

// newline ends the line.
func (w *writer) newline() { w.b.WriteByte('\n'); w.line++; w.col = 1 }

// mark records where the label of the field at path is about to be written.
func (w *writer) mark(path []any) {
	p := w.places[placeKey(path)]
	p.keyLine, p.keyCol = w.line, w.col
	w.places[placeKey(path)] = p
}

// markValue records where the value of the field at path is about to be
// written.
func (w *writer) markValue(path []any) {
	p := w.places[placeKey(path)]
	p.valLine, p.valCol = w.line, w.col
	w.places[placeKey(path)] = p
}

// placeKey is the key of a concrete path in writer.places.
func placeKey(path []any) string {
	var b strings.Builder
	for _, x := range path {
		if n, ok := x.(int); ok {
			fmt.Fprintf(&b, "[%d]", n)
		} else {
			b.WriteString("." + strconv.Quote(x.(string)))
		}
	}
	return b.String()
}

// identifier is a label CUE and YAML can both write unquoted.
var identifier = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)

// yamlWords are plain scalars YAML would read as something other than
// a string.
var yamlWords = map[string]bool{"true": true, "false": true, "null": true, "yes": true, "no": true, "on": true, "off": true, "y": true, "n": true}

// writeCUE writes state as a .cue file of package mutation, one field a
// line, indented with tabs.
func writeCUE(w *writer, state map[string]any) {
	w.put("package mutation")
	w.newline()
	w.newline()
	for _, k := range sortedKeys(state) {
		cueField(w, nil, k, state[k], 0)
	}
}

// cueField writes the field key of the struct at at, on a line of its own.
func cueField(w *writer, at []any, key string, v any, depth int) {
	path := append(append([]any{}, at...), key)
	w.put(strings.Repeat("\t", depth))
	w.mark(path)
	if identifier.MatchString(key) {
		w.put(key)
	} else {
		w.put(strconv.Quote(key))
	}
	w.put(": ")
	cueValue(w, path, v, depth)
	w.newline()
}

// cueValue writes v, the value of the field at path.
func cueValue(w *writer, path []any, v any, depth int) {
	w.markValue(path)
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			w.put("{}")
			return
		}
		w.put("{")
		w.newline()
		for _, k := range sortedKeys(v) {
			cueField(w, path, k, v[k], depth+1)
		}
		w.put(strings.Repeat("\t", depth) + "}")
	case []any:
		if len(v) == 0 {
			w.put("[]")
			return
		}
		w.put("[")
		w.newline()
		for i, e := range v {
			w.put(strings.Repeat("\t", depth+1))
			cueValue(w, append(append([]any{}, path...), i), e, depth+1)
			w.put(",")
			w.newline()
		}
		w.put(strings.Repeat("\t", depth) + "]")
	default:
		w.put(scalarText(v))
	}
}

// writeYAML writes state as a YAML document, indented by two spaces, every
// string quoted and every list element on lines of its own.
func writeYAML(w *writer, state map[string]any) {
	for _, k := range sortedKeys(state) {
		yamlField(w, nil, k, state[k], 0)
	}
}

// yamlField writes the field key of the mapping at at, from the start of
// its line.
func yamlField(w *writer, at []any, key string, v any, depth int) {
	path := append(append([]any{}, at...), key)
	w.put(strings.Repeat("  ", depth))
	w.mark(path)
	if identifier.MatchString(key) && !yamlWords[strings.ToLower(key)] {
		w.put(key)
	} else {
		w.put(strconv.Quote(key))
	}
	w.put(":")
	yamlValue(w, path, v, depth)
}

// yamlValue writes v after its label or its list marker, and ends the line.
func yamlValue(w *writer, path []any, v any, depth int) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			w.put(" ")
			w.markValue(path)
			w.put("{}")
			w.newline()
			return
		}
		w.markValue(path)
		w.newline()
		for _, k := range sortedKeys(v) {
			yamlField(w, path, k, v[k], depth+1)
		}
	case []any:
		if len(v) == 0 {
			w.put(" ")
			w.markValue(path)
			w.put("[]")
			w.newline()
			return
		}
		w.markValue(path)
		w.newline()
		for i, e := range v {
			w.put(strings.Repeat("  ", depth+1) + "-")
			yamlValue(w, append(append([]any{}, path...), i), e, depth+2)
		}
	default:
		w.put(" ")
		w.markValue(path)
		w.put(scalarText(v))
		w.newline()
	}
}

// writeJSON writes state as an indented JSON object.
func writeJSON(w *writer, state map[string]any) {
	jsonValue(w, nil, state, 0)
	w.newline()
}

// jsonValue writes v, the value of the field at path (the whole document
// when path is empty).
func jsonValue(w *writer, path []any, v any, depth int) {
	if len(path) > 0 {
		w.markValue(path)
	}
	indent := strings.Repeat("  ", depth+1)
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			w.put("{}")
			return
		}
		w.put("{")
		w.newline()
		for i, k := range sortedKeys(v) {
			p := append(append([]any{}, path...), k)
			w.put(indent)
			w.mark(p)
			w.put(strconv.Quote(k) + ": ")
			jsonValue(w, p, v[k], depth+1)
			if i < len(v)-1 {
				w.put(",")
			}
			w.newline()
		}
		w.put(indent[2:] + "}")
	case []any:
		if len(v) == 0 {
			w.put("[]")
			return
		}
		w.put("[")
		w.newline()
		for i, e := range v {
			w.put(indent)
			jsonValue(w, append(append([]any{}, path...), i), e, depth+1)
			if i < len(v)-1 {
				w.put(",")
			}
			w.newline()
		}
		w.put(indent[2:] + "]")
	default:
		w.put(scalarText(v))
	}
}
