package policy

import (
	"reflect"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/durable-delivery/durable/schema"
)

// valueCache maps the JSON text of parts of inputs to their values: the
// parts of a fleet or a desired state that did not change since the last
// decision are written again as text, which is cheap, but not built
// again as values, which is most of the cost of an input (allocations).
// The text determines the value (the value of an input is its text's, as
// parsed), so a hit is always right, whatever Go value wrote the text.
type valueCache struct {
	mu     sync.Mutex
	values map[string]ast.Value
	size   int
	// adapters maps an adapter's kind and settings to its text and value.
	adapters map[string]textValue
}

type textValue struct {
	text  []byte
	value ast.Value
}

// Bounds of the cache: it is emptied when full; parts shorter than
// minShared are cheaper to build than to look up.
const (
	maxSharedBytes = 8 << 20
	minShared      = 64
	maxAdapters    = 4096
)

func (c *valueCache) get(text []byte) (ast.Value, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.values[string(text)]
	return v, ok
}

func (c *valueCache) put(text []byte, v ast.Value) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.values == nil || c.size+len(text) > maxSharedBytes {
		c.values, c.size = map[string]ast.Value{}, 0
	}
	c.values[string(text)] = v
	c.size += len(text)
}

// elementOf is how a field's, a map entry's or a list item's value of
// type t is written: a struct's text is written first and its value taken
// from the cache when the same text was met before (shared).
func elementOf(t reflect.Type) encFunc {
	enc := encoderOf(t)
	switch {
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && !t.Implements(marshalerType):
		inner, cached := encoderOf(t.Elem()), t.Elem() != timeType && t.Elem() != durationType
		return func(e *encoder, v reflect.Value) (ast.Value, error) {
			switch {
			case e.values == nil || e.textOnly || v.IsNil():
				return enc(e, v)
			case !cached:
				return inner(e, v.Elem())
			}
			return e.shared(v.Elem(), inner)
		}
	case t.Kind() == reflect.Struct && t != timeType && t != durationType:
		return func(e *encoder, v reflect.Value) (ast.Value, error) {
			if e.values == nil || e.textOnly {
				return enc(e, v)
			}
			return e.shared(v, enc)
		}
	}
	return enc
}

// shared writes a struct v with enc, its value from the cache when its
// text was met before.
func (e *encoder) shared(v reflect.Value, enc encFunc) (ast.Value, error) {
	start := len(e.buf)
	e.textOnly = true
	_, err := enc(e, v)
	e.textOnly = false
	if err != nil {
		return nil, err
	}
	text := e.buf[start:]
	if len(text) < minShared {
		e.buf = e.buf[:start]
		return enc(e, v)
	}
	if x, ok := e.values.get(text); ok {
		return x, nil
	}
	e.buf = e.buf[:start]
	x, err := enc(e, v)
	if err != nil {
		return nil, err
	}
	e.values.put(e.buf[start:], x)
	return x, nil
}

// adapter writes a target's adapter: its MarshalJSON (the settings
// decoded and written again with the kind) once per kind and settings.
func (e *encoder) adapter(a schema.Adapter) (ast.Value, error) {
	key := a.Kind + "\x00" + string(a.Config)
	e.values.mu.Lock()
	f, ok := e.values.adapters[key]
	e.values.mu.Unlock()
	if !ok {
		sub := &encoder{}
		x, err := sub.slow(reflect.ValueOf(a))
		if err != nil {
			return nil, err
		}
		f = textValue{text: sub.buf, value: x}
		e.values.mu.Lock()
		if e.values.adapters == nil || len(e.values.adapters) >= maxAdapters {
			e.values.adapters = map[string]textValue{}
		}
		e.values.adapters[key] = f
		e.values.mu.Unlock()
	}
	e.buf = append(e.buf, f.text...)
	return f.value, nil
}
