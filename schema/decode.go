package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"

	"cuelang.org/go/cue"
)

// A validated desired state is decoded into its Go types by walking the
// types and looking each field up in the evaluated value, rather than by
// marshalling the value to JSON and decoding that. CUE's MarshalJSON, like
// every iteration over a struct's fields in its API, first sorts the
// fields topologically (the order the user wrote them in), and that sort
// is most of its cost: 80% of the marshalling of 10,000 services, which
// was a fifth of their load. A lookup by name needs no order, so only a
// map (services, env, ...) is iterated here.
//
// The result is what decodeJSON gives for the value's JSON
// (TestDecodeValueAgreesWithJSON); a type that decodes its own JSON (a
// json.Unmarshaler: Duration, Adapter) is given its value's JSON. A field
// the schema allows that the types lack is caught by
// TestGoTypesHoldEverySchemaField, where the JSON decoding refused it at
// run time.

// decodeValue decodes the concrete value v into the Go value dst points to.
func decodeValue(v cue.Value, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("decode into %T: not a pointer", dst)
	}
	return decodeInto(v, rv.Elem())
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// decodeInto sets dst, which is settable, from v.
func decodeInto(v cue.Value, dst reflect.Value) error {
	if reflect.PointerTo(dst.Type()).Implements(unmarshalerType) {
		return unmarshalValue(v, dst.Addr().Interface().(json.Unmarshaler))
	}
	switch dst.Kind() {
	case reflect.Pointer:
		p := reflect.New(dst.Type().Elem())
		if err := decodeInto(v, p.Elem()); err != nil {
			return err
		}
		dst.Set(p)
	case reflect.Struct:
		for _, f := range fieldsOfType(dst.Type()) {
			if f.embedded {
				return fmt.Errorf("decode into %s: embedded field %s is not supported", dst.Type(), f.name)
			}
			fv := v.LookupPath(cue.MakePath(cue.Str(f.name)))
			if !fv.Exists() {
				continue
			}
			if err := decodeInto(fv, dst.Field(f.index)); err != nil {
				return err
			}
		}
	case reflect.Map:
		return decodeMap(v, dst)
	case reflect.Slice:
		it, err := v.List()
		if err != nil {
			return err
		}
		s := reflect.MakeSlice(dst.Type(), 0, 0)
		elem := reflect.New(dst.Type().Elem()).Elem()
		for it.Next() {
			elem.SetZero()
			if err := decodeInto(it.Value(), elem); err != nil {
				return err
			}
			s = reflect.Append(s, elem)
		}
		dst.Set(s)
	default:
		return decodeScalar(v, dst)
	}
	return nil
}

// decodeMap sets dst, a map with string keys, from v's fields, decoded in
// parallel (decodeEach).
func decodeMap(v cue.Value, dst reflect.Value) error {
	if dst.Type().Key().Kind() != reflect.String {
		return fmt.Errorf("decode into %s: map keys are not strings", dst.Type())
	}
	it, err := v.Fields()
	if err != nil {
		return err
	}
	var keys []string
	var values []cue.Value
	for it.Next() {
		keys = append(keys, it.Selector().Unquoted())
		values = append(values, it.Value())
	}
	elems := reflect.MakeSlice(reflect.SliceOf(dst.Type().Elem()), len(values), len(values))
	if err := decodeEach(values, elems); err != nil {
		return err
	}
	m := reflect.MakeMapWithSize(dst.Type(), len(keys))
	for i, k := range keys {
		m.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), elems.Index(i))
	}
	dst.Set(m)
	return nil
}

// decodeScalar sets dst, a string, a boolean or a number, from v.
func decodeScalar(v cue.Value, dst reflect.Value) error {
	switch dst.Kind() {
	case reflect.String:
		s, err := v.String()
		if err != nil {
			return err
		}
		dst.SetString(s)
	case reflect.Bool:
		b, err := v.Bool()
		if err != nil {
			return err
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := v.Int64()
		if err != nil {
			return err
		}
		if dst.OverflowInt(n) {
			return fmt.Errorf("%v: %d overflows %s", v.Path(), n, dst.Type())
		}
		dst.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := v.Uint64()
		if err != nil {
			return err
		}
		if dst.OverflowUint(n) {
			return fmt.Errorf("%v: %d overflows %s", v.Path(), n, dst.Type())
		}
		dst.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := v.Float64()
		if err != nil {
			return err
		}
		dst.SetFloat(f)
	default:
		return fmt.Errorf("decode into %s: unsupported kind", dst.Type())
	}
	return nil
}

// unmarshalValue gives u the JSON of v. A string (a Duration) is encoded
// by encoding/json, which CUE's encoding of it decodes the same as,
// without the evaluation context MarshalJSON allocates.
func unmarshalValue(v cue.Value, u json.Unmarshaler) error {
	var b []byte
	var err error
	if s, strErr := v.String(); strErr == nil {
		b, err = json.Marshal(s)
	} else {
		b, err = v.MarshalJSON()
	}
	if err != nil {
		return err
	}
	return u.UnmarshalJSON(b)
}

// parallelFrom is the number of values from which decodeEach shares them
// out between goroutines: below it, starting them costs more than it saves.
const parallelFrom = 64

// decodeEach decodes values[i] into elems.Index(i). Many values (a map of
// services) are decoded by as many goroutines as Go runs at once, each a
// contiguous share: an evaluated cue.Value is safe for concurrent use
// (cue/concurrent_test.go in CUE v0.17, issue 2733), and decoding is most
// of what is left of a load once CUE has evaluated it.
func decodeEach(values []cue.Value, elems reflect.Value) error {
	workers := min(runtime.GOMAXPROCS(0), len(values)/parallelFrom)
	if workers <= 1 {
		for i, v := range values {
			if err := decodeInto(v, elems.Index(i)); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(values)/workers, (w+1)*len(values)/workers
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				if err := decodeInto(values[i], elems.Index(i)); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// typeField is a struct field as encoding/json names it. An embedded
// struct's fields are promoted by encoding/json, which decodeValue does not
// do: a value of such a type is decoded from JSON (decode).
type typeField struct {
	name     string
	index    int
	embedded bool
}

var typeFields sync.Map // reflect.Type → []typeField

// fieldsOfType lists the fields of the struct type t that encoding/json
// decodes: exported, not tagged "-", by their tag's name or their own.
func fieldsOfType(t reflect.Type) []typeField {
	if fs, ok := typeFields.Load(t); ok {
		return fs.([]typeField)
	}
	var fs []typeField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fs = append(fs, typeField{name: name, index: i, embedded: f.Anonymous})
	}
	typeFields.Store(t, fs)
	return fs
}
