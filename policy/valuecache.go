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

// element writes a field's, a map entry's or a list item's value. A
// struct's text is written first and its value taken from the cache when
// the same text was met before.
func (e *encoder) element(v reflect.Value) (ast.Value, error) {
	if e.values == nil || e.textOnly {
		return e.encode(v)
	}
	if v.Kind() == reflect.Pointer && !v.IsNil() && v.Type().Elem().Kind() == reflect.Struct && !v.Type().Implements(marshalerType) {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct || v.Type() == timeType || v.Type() == durationType {
		return e.encode(v)
	}
	start := len(e.buf)
	e.textOnly = true
	_, err := e.encode(v)
	e.textOnly = false
	if err != nil {
		return nil, err
	}
	text := e.buf[start:]
	if len(text) < minShared {
		e.buf = e.buf[:start]
		return e.encode(v)
	}
	if x, ok := e.values.get(text); ok {
		return x, nil
	}
	e.buf = e.buf[:start]
	x, err := e.encode(v)
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
