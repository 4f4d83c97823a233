package policy

import (
	"reflect"
	"strings"
	"unicode"

	"github.com/open-policy-agent/opa/v1/ast"
)

// structInfo is how encoding/json writes a struct type.
type structInfo struct {
	fields []field
	// slow is set for what the walk leaves to encoding/json: embedded
	// fields (whose names it resolves by depth and tags), two fields of
	// one name (it writes neither), the ",string" option, and an IsZero
	// method on the pointer only.
	slow bool
}

// field is one exported struct field as encoding/json sees it.
type field struct {
	index int
	// key is the field's name as written, quoted, with its colon.
	key                 []byte
	name                *ast.Term
	omitEmpty, omitZero bool
	isZero              func(reflect.Value) bool
	// enc writes the field's value (elementOf).
	enc encFunc
}

// structOf reads a struct type's JSON fields, once per type (encoderOf).
func structOf(t reflect.Type) *structInfo {
	info := &structInfo{}
	seen := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if sf.Anonymous {
			info.slow = true
			break
		}
		if tag == "-" || !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		opts = "," + opts + ","
		if !validTag(name) {
			name = sf.Name
		}
		isZero, ok := zeroTest(sf.Type)
		if seen[name] || strings.Contains(opts, ",string,") || !ok {
			info.slow = true
			break
		}
		seen[name] = true
		f := field{index: i, name: ast.StringTerm(name), isZero: isZero,
			omitEmpty: strings.Contains(opts, ",omitempty,"), omitZero: strings.Contains(opts, ",omitzero,")}
		f.key = append(appendQuoted(nil, name), ':')
		f.enc = elementOf(sf.Type)
		info.fields = append(info.fields, f)
	}
	return info
}

// validTag is encoding/json's test of a tag's name; it uses the field's Go
// name in place of one it refuses.
func validTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c) && !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			return false
		}
	}
	return true
}

type isZeroer interface{ IsZero() bool }

// zeroTest is omitzero's test: the type's IsZero method where it has one.
// A method on the pointer alone is left to encoding/json (not ok).
func zeroTest(t reflect.Type) (func(reflect.Value) bool, bool) {
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || (v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil()) || v.Interface().(isZeroer).IsZero()
		}, true
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.IsNil() || v.Interface().(isZeroer).IsZero() }, true
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.Interface().(isZeroer).IsZero() }, true
	case reflect.PointerTo(t).Implements(isZeroerType):
		return nil, false
	}
	return reflect.Value.IsZero, true
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
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}
