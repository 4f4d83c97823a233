package policy

import (
	"encoding/json"
	"reflect"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Prepared is a part of decisions' inputs encoded once, ahead of them: the
// JSON text encoding/json writes of Of and the value the policies see of
// that text, made in one walk (encode.go). A desired state is fixed for
// its revision, and admission sees it twice (new, then as the next
// revision's old): prepared once, no decision writes or converts it again.
// Of must not change once prepared.
//
// In an input, a Prepared is written as its text (MarshalJSON), so the
// decision's digest is the one encoding/json gives the same input holding
// Of itself.
type Prepared[T any] struct {
	Of    *T
	text  []byte
	value ast.Value
}

// Prepare encodes of; one that encoding/json cannot write fails with
// encoding/json's error.
func Prepare[T any](of *T) (*Prepared[T], error) {
	p := &Prepared[T]{Of: of}
	return p, p.prepare()
}

// preparedValues are the values of the parts of what was prepared, by
// their text (valueCache): a fleet's service prepared again after an
// action has most of its placements as they were.
var preparedValues valueCache

// prepare encodes p.Of, for Prepare and for the tests' generated inputs.
func (p *Prepared[T]) prepare() error {
	e := &encoder{values: &preparedValues}
	v, err := e.encode(reflect.ValueOf(p.Of))
	if err != nil {
		if _, jerr := json.Marshal(p.Of); jerr != nil {
			return jerr
		}
		return err
	}
	p.text, p.value = e.buf, v
	return nil
}

// MarshalJSON is the prepared text.
func (p *Prepared[T]) MarshalJSON() ([]byte, error) { return p.text, nil }

// JSON is the prepared text, shared: it must not be changed.
func (p *Prepared[T]) JSON() []byte { return p.text }

// Size is the prepared text's length.
func (p *Prepared[T]) Size() int { return len(p.text) }

func (p *Prepared[T]) prepared() ([]byte, ast.Value) { return p.text, p.value }

// preparedPart is what the walk writes from its prepared text and value.
type preparedPart interface {
	prepared() ([]byte, ast.Value)
}

// preparedValue writes a prepared part (nil: null).
func (e *encoder) preparedValue(v reflect.Value) (ast.Value, error) {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return e.null(), nil
	}
	text, value := v.Interface().(preparedPart).prepared()
	e.buf = append(e.buf, text...)
	return value, nil
}
