package schema

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is one problem in a desired-state repository, positioned in the
// user's files. File is relative to the repository root; Line and Col are
// 1-based and zero when the problem concerns a whole file (or, with File
// empty, the whole repository). Path is the CUE path of the offending value,
// such as services.web.run.replicas, when there is one. Message says what is
// wrong and how to fix it, and already names the path.
type Error struct {
	File    string
	Line    int
	Col     int
	Path    string
	Message string
}

// String renders the error as file:line:col: message, the form editors and
// terminals turn into a link.
func (e Error) String() string {
	switch {
	case e.File == "":
		return e.Message
	case e.Line == 0:
		return e.File + ": " + e.Message
	default:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Message)
	}
}

// Errors is every problem found in one load, sorted by file, line and column,
// without duplicates.
type Errors []Error

// Error renders one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.String()
	}
	return strings.Join(lines, "\n")
}

// maxReported bounds how many errors one load reports: a hostile or badly
// broken repository must not turn into megabytes of output.
const maxReported = 100

// maxMessage bounds the length, in runes, of one message or path.
const maxMessage = 400

// normalize makes the errors safe to print (no control or bidirectional
// characters, bounded length), then sorts them, drops duplicates and caps
// their number.
func (es Errors) normalize() Errors {
	out := make(Errors, 0, len(es))
	for _, e := range es {
		e.File = printable(e.File)
		e.Path = printable(e.Path)
		e.Message = printable(e.Message)
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Error) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Message, b.Message),
		)
	})
	out = slices.Compact(out)
	if len(out) > maxReported {
		more := len(out) - maxReported
		out = append(out[:maxReported], Error{Message: fmt.Sprintf("%d more errors not shown; fix the ones above first", more)})
	}
	return out
}

// printable escapes what a terminal would interpret (control characters,
// bidirectional overrides, invalid UTF-8) and shortens overlong text, so that
// text taken from a repository cannot forge or hide output.
func printable(s string) string {
	var b strings.Builder
	n := 0
	for i, r := range s {
		if n == maxMessage {
			b.WriteString("…")
			break
		}
		n++
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
