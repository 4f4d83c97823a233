package policy

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Error is one problem in a policy file, with its position.
type Error struct {
	File    string
	Line    int
	Col     int
	Message string
}

func (e Error) String() string {
	if e.File == "" {
		return e.Message
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Message)
}

func (e Error) Error() string { return e.String() }

// Errors is every problem found, one per line, in file order.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.String()
	}
	return strings.Join(lines, "\n")
}

// fromAST converts OPA's errors, adding the sandbox's advice where it applies.
func fromAST(source string, err error) Errors {
	var astErrs ast.Errors
	if !errors.As(err, &astErrs) {
		return Errors{{File: source, Message: err.Error()}}
	}
	out := make(Errors, 0, len(astErrs))
	for _, e := range astErrs {
		pe := Error{Message: e.Message}
		if e.Location != nil {
			pe.File, pe.Line, pe.Col = e.Location.File, e.Location.Row, max(e.Location.Col, 1)
		}
		if advice := sandboxAdvice(e.Message); advice != "" {
			pe.Message += "; " + advice
		}
		out = append(out, pe)
	}
	sortErrors(out)
	return out
}

func sortErrors(es Errors) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].File != es[j].File {
			return es[i].File < es[j].File
		}
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Col < es[j].Col
	})
}
