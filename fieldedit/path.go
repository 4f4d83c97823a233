package fieldedit

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Files are a tree's source files by slash-separated path.
type Files map[string][]byte

// A Path names a field from the top of the desired state, e.g. services,
// web, run, replicas. A list element is named by its index in decimal.
type Path []string

// identifier is a label CUE reads without quotes as the same field name.
var identifier = regexp.MustCompile(`^[A-Za-z$][A-Za-z0-9_$]*$`)

// cueKeywords are identifiers quoted as labels all the same, so that the
// text never reads as a keyword.
var cueKeywords = map[string]bool{"if": true, "for": true, "in": true, "let": true, "import": true, "package": true,
	"true": true, "false": true, "null": true, "_": true}

// String writes p as CUE would: services.web.run.replicas, with labels
// that are not identifiers quoted.
func (p Path) String() string {
	parts := make([]string, len(p))
	for i, l := range p {
		parts[i] = cueLabel(l)
	}
	return strings.Join(parts, ".")
}

func cueLabel(l string) string {
	if identifier.MatchString(l) && !cueKeywords[l] {
		return l
	}
	return quote(l)
}

// quote writes s as a double-quoted string that CUE, YAML and JSON all
// read as s: quotes, backslashes and every character YAML does not allow
// raw (controls, DEL, C1, line and paragraph separators, BOM, anything
// not printable) escaped as \uXXXX. A character none of the three can
// escape alike (a non-printable one beyond U+FFFF, or invalid UTF-8)
// becomes U+FFFD, which the caller's load of the result then refuses.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r > 0xFFFF && !unicode.IsPrint(r):
			b.WriteString(`\ufffd`)
		case r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029 || r == 0xFEFF || !unicode.IsPrint(r) && r != ' ':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// index reads a path element as a list index.
func index(label string) (int, bool) {
	i, err := strconv.Atoi(label)
	return i, err == nil && i >= 0 && strconv.Itoa(i) == label
}

// A Change sets the field at Path to Value (JSON-shaped: string, float64,
// bool, nil, []any, map[string]any) or, when Delete, removes it.
type Change struct {
	Path   Path
	Value  any
	Delete bool
}

func (c Change) String() string {
	if c.Delete {
		return "remove " + c.Path.String()
	}
	return fmt.Sprintf("set %s to %s", c.Path, render(c.Value, false))
}
