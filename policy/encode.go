package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/schema"
)

// encoded is an input as a decision takes it: its JSON text, byte for byte
// what encoding/json writes (the digest is the sha256 of that text), and
// the OPA value of that text, both made in one walk of the Go value.
// Parsing the text again, or converting each part through its own
// MarshalJSON, was most of a decision's cost.
type encoded struct {
	value  ast.Value
	digest string
}

// encoder walks one input. A slice or map met twice in the same input is
// written once and its value shared; a struct whose text was met in an
// earlier decision of the engine takes its value from the engine's cache
// (see element).
type encoder struct {
	buf    []byte
	memo   map[memoKey]fragment
	values *valueCache
	// textOnly writes the text and makes no value: the text is looked up
	// in values first (see element).
	textOnly bool
	// depth counts the pointers, maps and slices being walked: past
	// maxDepth the rest goes through encoding/json, which reports a cycle
	// (a walk would never end) and writes what is only deep.
	depth int
}

const maxDepth = 500

// memoKey names a slice's or map's contents: same type, same backing
// array (or map) and length is the same contents while one input is
// encoded, since nothing changes it meanwhile.
type memoKey struct {
	t   reflect.Type
	ptr unsafe.Pointer
	n   int
}

// fragment is a part already written: its text at buf[start:end].
type fragment struct {
	start, end int
	value      ast.Value
}

// encodeInput encodes input; an input encoding/json cannot write fails
// with encoding/json's error.
func encodeInput(input any, values *valueCache) (encoded, error) {
	buf := buffers.Get().(*[]byte)
	e := &encoder{buf: (*buf)[:0], values: values}
	defer func() {
		if cap(e.buf) <= maxPooledBuffer {
			*buf = e.buf
			buffers.Put(buf)
		}
	}()
	v, err := e.encode(reflect.ValueOf(input))
	if err != nil {
		if _, jerr := json.Marshal(input); jerr != nil {
			return encoded{}, jerr
		}
		return encoded{}, err
	}
	sum := sha256.Sum256(e.buf)
	return encoded{value: v, digest: "sha256:" + hex.EncodeToString(sum[:])}, nil
}

// buffers are the encoders' texts, kept between decisions: the text is
// hashed and dropped, only the value is kept.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledBuffer keeps the text of a very large input (a fleet of 10,000
// services) from being held by the pool.
const maxPooledBuffer = 1 << 20

var (
	durationType   = reflect.TypeFor[api.Duration]()
	timeType       = reflect.TypeFor[time.Time]()
	adapterType    = reflect.TypeFor[schema.Adapter]()
	marshalerType  = reflect.TypeFor[json.Marshaler]()
	textType       = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType   = reflect.TypeFor[isZeroer]()
	preparedType   = reflect.TypeFor[preparedPart]()
	errUnsupported = errors.New("unsupported value")
)

// class is how the walk writes a type: itself, or through a method.
type class int

const (
	plainClass class = iota
	durationClass
	timeClass
	adapterClass
	preparedClass
	// marshalerClass types have a MarshalJSON or MarshalText method;
	// addressableMarshalerClass ones have it on their pointer only.
	marshalerClass
	addressableMarshalerClass
)

// classOf classifies t, once per type (encoderOf).
func classOf(t reflect.Type) class {
	switch {
	case t == durationType:
		return durationClass
	case t == timeType:
		return timeClass
	case t == adapterType:
		return adapterClass
	case t.Implements(preparedType):
		return preparedClass
	case t.Implements(marshalerType) || t.Implements(textType):
		return marshalerClass
	case t.Kind() != reflect.Pointer && (reflect.PointerTo(t).Implements(marshalerType) || reflect.PointerTo(t).Implements(textType)):
		return addressableMarshalerClass
	}
	return plainClass
}

// encFunc writes a value of one type: its text appended to e.buf, and its
// value (none while e.textOnly). Each type's is made once (encoderOf), so
// that a value's walk looks up nothing of its type: a decision's input has
// hundreds of values of a dozen types.
type encFunc func(e *encoder, v reflect.Value) (ast.Value, error)

var encoders sync.Map // reflect.Type → encFunc

// encoderOf is t's encFunc. A recursive type's is asked for while it is
// made: that call gets one that waits until it is made.
func encoderOf(t reflect.Type) encFunc {
	if f, ok := encoders.Load(t); ok {
		return f.(encFunc)
	}
	var (
		made sync.WaitGroup
		f    encFunc
	)
	made.Add(1)
	waiting := encFunc(func(e *encoder, v reflect.Value) (ast.Value, error) {
		made.Wait()
		return f(e, v)
	})
	if g, loaded := encoders.LoadOrStore(t, waiting); loaded {
		return g.(encFunc)
	}
	f = newEncoder(t)
	made.Done()
	encoders.Store(t, f)
	return f
}

// encode writes v's JSON and returns its value.
func (e *encoder) encode(v reflect.Value) (ast.Value, error) {
	if !v.IsValid() {
		return e.null(), nil
	}
	return encoderOf(v.Type())(e, v)
}

func newEncoder(t reflect.Type) encFunc {
	switch classOf(t) {
	case durationClass:
		return func(e *encoder, v reflect.Value) (ast.Value, error) {
			return e.string(v.Interface().(api.Duration).String()), nil
		}
	case timeClass:
		return func(e *encoder, v reflect.Value) (ast.Value, error) { return e.time(v.Interface().(time.Time)) }
	case adapterClass:
		return func(e *encoder, v reflect.Value) (ast.Value, error) {
			if e.values != nil {
				return e.adapter(v.Interface().(schema.Adapter))
			}
			return e.slow(v)
		}
	case preparedClass:
		return (*encoder).preparedValue
	case marshalerClass:
		return (*encoder).slow
	case addressableMarshalerClass:
		plain := kindEncoder(t)
		return func(e *encoder, v reflect.Value) (ast.Value, error) {
			if v.CanAddr() {
				return e.slow(v.Addr()) // encoding/json calls a pointer's method on what it can address
			}
			return plain(e, v)
		}
	}
	return kindEncoder(t)
}

// null writes null.
func (e *encoder) null() ast.Value {
	e.buf = append(e.buf, "null"...)
	return ast.NullValue
}

// shallow writes a pointer, map or slice that is nil (null) or past
// maxDepth (through encoding/json), and reports whether it did.
func (e *encoder) shallow(v reflect.Value) (bool, ast.Value, error) {
	if e.depth >= maxDepth {
		x, err := e.slow(v)
		return true, x, err
	}
	if v.IsNil() {
		return true, e.null(), nil
	}
	return false, nil, nil
}

// kindEncoder writes t's values by their kind.
func kindEncoder(t reflect.Type) encFunc {
	switch t.Kind() {
	case reflect.Pointer:
		elem := encoderOf(t.Elem())
		return func(e *encoder, v reflect.Value) (ast.Value, error) {
			if done, x, err := e.shallow(v); done {
				return x, err
			}
			e.depth++
			x, err := elem(e, v.Elem())
			e.depth--
			return x, err
		}
	case reflect.Interface:
		return func(e *encoder, v reflect.Value) (ast.Value, error) {
			if v.IsNil() {
				return e.null(), nil
			}
			e.depth++
			x, err := e.encode(v.Elem())
			e.depth--
			return x, err
		}
	case reflect.Struct:
		info := structOf(t)
		if info.slow {
			return (*encoder).slow
		}
		return func(e *encoder, v reflect.Value) (ast.Value, error) { return e.structValue(v, info) }
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return (*encoder).slow
		}
		return memoizing(elementOf(t.Elem()), (*encoder).mapValue)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return (*encoder).slow // base64, as encoding/json writes bytes
		}
		return memoizing(elementOf(t.Elem()), (*encoder).listValue)
	case reflect.Array:
		elem := elementOf(t.Elem())
		return func(e *encoder, v reflect.Value) (ast.Value, error) { return e.listValue(v, elem) }
	case reflect.String:
		return func(e *encoder, v reflect.Value) (ast.Value, error) { return e.string(v.String()), nil }
	case reflect.Bool:
		return func(e *encoder, v reflect.Value) (ast.Value, error) {
			if v.Bool() {
				e.buf = append(e.buf, "true"...)
				return ast.Boolean(true), nil
			}
			e.buf = append(e.buf, "false"...)
			return ast.Boolean(false), nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(e *encoder, v reflect.Value) (ast.Value, error) {
			return e.number(strconv.AppendInt(e.buf, v.Int(), 10)), nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(e *encoder, v reflect.Value) (ast.Value, error) {
			return e.number(strconv.AppendUint(e.buf, v.Uint(), 10)), nil
		}
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(e *encoder, v reflect.Value) (ast.Value, error) { return e.float(v.Float(), bits) }
	}
	return func(*encoder, reflect.Value) (ast.Value, error) { return nil, errUnsupported }
}

// number takes the digits just appended to buf as a number.
func (e *encoder) number(b []byte) ast.Value {
	start := len(e.buf)
	e.buf = b
	if e.textOnly {
		return nil
	}
	return ast.Number(e.buf[start:])
}

// float writes f as encoding/json does (ES6 number formatting).
func (e *encoder) float(f float64, bits int) (ast.Value, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errUnsupported
	}
	format, abs := byte('f'), math.Abs(f)
	if abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		format = 'e'
	}
	start := len(e.buf)
	b := strconv.AppendFloat(e.buf, f, format, -1, bits)
	if n := len(b); format == 'e' && n-start >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	e.buf = b
	if e.textOnly {
		return nil, nil
	}
	return ast.Number(e.buf[start:]), nil
}

// string writes s quoted and escaped as encoding/json does (HTML
// characters, U+2028 and U+2029 escaped, each invalid byte as U+FFFD), and
// returns the string the JSON text reads back as.
func (e *encoder) string(s string) ast.Value {
	e.buf = appendQuoted(e.buf, s)
	if e.textOnly {
		return nil
	}
	if !utf8.ValidString(s) {
		s = validUTF8(s)
	}
	return ast.String(s)
}

// validUTF8 replaces each invalid byte of s by U+FFFD, as a JSON round
// trip does (strings.ToValidUTF8 would replace a run by one).
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for an invalid byte, of size 1
		i += size
	}
	return b.String()
}

// time writes t as time.Time's MarshalJSON does; a time it refuses (a year
// outside 0–9999, an odd offset) goes the slow way for its error.
func (e *encoder) time(t time.Time) (ast.Value, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		return e.slow(reflect.ValueOf(t))
	}
	if _, off := t.Zone(); off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		return e.slow(reflect.ValueOf(t))
	}
	start := len(e.buf)
	e.buf = append(e.buf, '"')
	e.buf = t.AppendFormat(e.buf, time.RFC3339Nano)
	e.buf = append(e.buf, '"')
	if e.textOnly {
		return nil, nil
	}
	return ast.String(e.buf[start+1 : len(e.buf)-1]), nil
}

// slow writes v through encoding/json and parses the text back: for
// types with their own MarshalJSON or MarshalText, bytes, and anything
// else the walk does not know.
func (e *encoder) slow(v reflect.Value) (ast.Value, error) {
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, err
	}
	e.buf = append(e.buf, b...)
	if e.textOnly {
		return nil, nil
	}
	return ast.ValueFromReader(bytes.NewReader(b))
}

// memoizing writes a slice or map, its elements with elem, once per
// input, however often it is met.
func memoizing(elem encFunc, write func(*encoder, reflect.Value, encFunc) (ast.Value, error)) encFunc {
	return func(e *encoder, v reflect.Value) (ast.Value, error) {
		if done, x, err := e.shallow(v); done {
			return x, err
		}
		e.depth++
		defer func() { e.depth-- }()
		if v.Len() == 0 || e.textOnly {
			return write(e, v, elem)
		}
		key := memoKey{t: v.Type(), ptr: v.UnsafePointer(), n: v.Len()}
		if f, ok := e.memo[key]; ok {
			e.buf = append(e.buf, e.buf[f.start:f.end]...)
			return f.value, nil
		}
		start := len(e.buf)
		x, err := write(e, v, elem)
		if err != nil {
			return nil, err
		}
		if e.memo == nil {
			e.memo = map[memoKey]fragment{}
		}
		e.memo[key] = fragment{start: start, end: len(e.buf), value: x}
		return x, nil
	}
}

// structValue writes a struct's object, its fields named and omitted as
// encoding/json does.
func (e *encoder) structValue(v reflect.Value, info *structInfo) (ast.Value, error) {
	var terms [][2]*ast.Term
	if !e.textOnly {
		terms = make([][2]*ast.Term, 0, len(info.fields))
	}
	e.buf = append(e.buf, '{')
	first := true
	for _, f := range info.fields {
		fv := v.Field(f.index)
		if (f.omitEmpty && empty(fv)) || (f.omitZero && f.isZero(fv)) {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = append(e.buf, f.key...)
		x, err := f.enc(e, fv)
		if err != nil {
			return nil, err
		}
		if !e.textOnly {
			terms = append(terms, [2]*ast.Term{f.name, ast.NewTerm(x)})
		}
	}
	e.buf = append(e.buf, '}')
	if e.textOnly {
		return nil, nil
	}
	return ast.NewObject(terms...), nil
}

// mapValue writes a string-keyed map's object, its keys sorted.
func (e *encoder) mapValue(v reflect.Value, elem encFunc) (ast.Value, error) {
	keys := make([]reflect.Value, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		keys = append(keys, it.Key())
	}
	slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
	var terms [][2]*ast.Term
	if !e.textOnly {
		terms = make([][2]*ast.Term, 0, len(keys))
	}
	e.buf = append(e.buf, '{')
	invalidKey := false
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		name := e.string(k.String())
		invalidKey = invalidKey || !utf8.ValidString(k.String())
		e.buf = append(e.buf, ':')
		x, err := elem(e, v.MapIndex(k))
		if err != nil {
			return nil, err
		}
		if !e.textOnly {
			terms = append(terms, [2]*ast.Term{ast.NewTerm(name), ast.NewTerm(x)})
		}
	}
	e.buf = append(e.buf, '}')
	if e.textOnly {
		return nil, nil
	}
	if invalidKey {
		return objectOf(terms), nil
	}
	return ast.NewObject(terms...), nil
}

// objectOf is the object of a map's entries some of whose keys were not
// UTF-8. Keys that were distinct in Go may read back as one (each invalid
// byte becomes U+FFFD): the last in order wins, as when the text is parsed.
func objectOf(terms [][2]*ast.Term) ast.Value {
	seen := make(map[ast.String]bool, len(terms))
	for _, kv := range terms {
		k := kv[0].Value.(ast.String)
		if seen[k] {
			obj := ast.NewObjectWithCapacity(len(terms))
			for _, kv := range terms {
				obj.Insert(kv[0], kv[1])
			}
			return obj
		}
		seen[k] = true
	}
	return ast.NewObject(terms...)
}

// listValue writes a slice's or an array's array.
func (e *encoder) listValue(v reflect.Value, elem encFunc) (ast.Value, error) {
	var terms []*ast.Term
	if !e.textOnly {
		terms = make([]*ast.Term, v.Len())
	}
	e.buf = append(e.buf, '[')
	for i := range v.Len() {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		x, err := elem(e, v.Index(i))
		if err != nil {
			return nil, err
		}
		if !e.textOnly {
			terms[i] = ast.NewTerm(x)
		}
	}
	e.buf = append(e.buf, ']')
	if e.textOnly {
		return nil, nil
	}
	return ast.NewArray(terms...), nil
}
