package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// toValue converts a Go value to the OPA value of its JSON form, as
// encoding/json would write it, without writing and parsing the JSON text:
// decoding the text again is most of a decision's cost otherwise. A type
// with its own MarshalJSON goes through its JSON.
func toValue(v reflect.Value) (ast.Value, error) {
	if !v.IsValid() {
		return ast.NullValue, nil
	}
	if v.Type().Implements(marshaler) && (v.Kind() != reflect.Pointer || !v.IsNil()) {
		b, err := v.Interface().(json.Marshaler).MarshalJSON()
		if err != nil {
			return nil, err
		}
		return ast.ValueFromReader(bytes.NewReader(b))
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ast.NullValue, nil
		}
		return toValue(v.Elem())
	case reflect.Struct:
		return structValue(v)
	case reflect.Map:
		return mapValue(v)
	case reflect.Slice, reflect.Array:
		return listValue(v)
	case reflect.String:
		return ast.String(v.String()), nil
	case reflect.Bool:
		return ast.Boolean(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return ast.Number(strconv.FormatInt(v.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return ast.Number(strconv.FormatUint(v.Uint(), 10)), nil
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("unsupported number %v", f)
		}
		return ast.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	}
	return nil, fmt.Errorf("unsupported type %s", v.Type())
}

// structValue is a struct's object, its fields named and omitted as
// encoding/json does.
func structValue(v reflect.Value) (ast.Value, error) {
	fields := fieldsOf(v.Type())
	terms := make([][2]*ast.Term, 0, len(fields))
	for _, f := range fields {
		fv := v.FieldByIndex(f.index)
		if (f.omitEmpty && empty(fv)) || (f.omitZero && fv.IsZero()) {
			continue
		}
		x, err := toValue(fv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		terms = append(terms, [2]*ast.Term{ast.StringTerm(f.name), ast.NewTerm(x)})
	}
	return ast.NewObject(terms...), nil
}

// mapValue is a string-keyed map's object; a nil map is null.
func mapValue(v reflect.Value) (ast.Value, error) {
	if v.IsNil() {
		return ast.NullValue, nil
	}
	if v.Type().Key().Kind() != reflect.String {
		return nil, fmt.Errorf("map key type %s is not a string", v.Type().Key())
	}
	terms := make([][2]*ast.Term, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		x, err := toValue(it.Value())
		if err != nil {
			return nil, err
		}
		terms = append(terms, [2]*ast.Term{ast.StringTerm(it.Key().String()), ast.NewTerm(x)})
	}
	return ast.NewObject(terms...), nil
}

// listValue is a slice's or an array's array; a nil slice is null.
func listValue(v reflect.Value) (ast.Value, error) {
	if v.Kind() == reflect.Slice && v.IsNil() {
		return ast.NullValue, nil
	}
	if v.Type().Elem().Kind() == reflect.Uint8 {
		return nil, fmt.Errorf("byte slices are not supported in policy inputs")
	}
	terms := make([]*ast.Term, v.Len())
	for i := range terms {
		x, err := toValue(v.Index(i))
		if err != nil {
			return nil, err
		}
		terms[i] = ast.NewTerm(x)
	}
	return ast.NewArray(terms...), nil
}

var marshaler = reflect.TypeFor[json.Marshaler]()

// field is one exported struct field as encoding/json sees it.
type field struct {
	name                string
	index               []int
	omitEmpty, omitZero bool
}

var fieldCache sync.Map // reflect.Type → []field

// fieldsOf lists a struct's JSON fields: by tag name, "-" skipped, and the
// fields of an untagged embedded struct inlined.
func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" || (!sf.IsExported() && !sf.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			for _, inner := range fieldsOf(sf.Type) {
				inner.index = append([]int{i}, inner.index...)
				out = append(out, inner)
			}
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{name: name, index: []int{i},
			omitEmpty: strings.Contains(","+opts+",", ",omitempty,"), omitZero: strings.Contains(","+opts+",", ",omitzero,")})
	}
	fieldCache.Store(t, out)
	return out
}

// empty is encoding/json's omitempty test.
func empty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}
