package schema

import (
	"path/filepath"
	"reflect"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"github.com/durable-delivery/durable/internal/benchrepo"
)

// TestDecodeValueAgreesWithJSON decodes valid desired states, generated to
// use every optional part of the schema in random combinations, the
// benchmark repositories and the examples, both with decodeValue and as
// they were decoded before it (CUE's MarshalJSON, decoded strictly), and
// requires the same DesiredState.
func TestDecodeValueAgreesWithJSON(t *testing.T) {
	var dirs []string
	for seed := range 40 {
		dir := t.TempDir()
		writeRandomRepository(t, dir, uint64(seed))
		dirs = append(dirs, dir)
	}
	for _, n := range []int{1, 250} {
		dir := t.TempDir()
		if err := benchrepo.Write(dir, n); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	examples, err := filepath.Glob(filepath.Join("..", "examples", "*", "release.cue"))
	if err != nil || len(examples) < 3 {
		t.Fatalf("examples: %d found, %v", len(examples), err)
	}
	for _, f := range examples {
		dirs = append(dirs, filepath.Dir(f))
	}
	for _, dir := range dirs {
		v := evaluatedValue(t, dir)
		b, err := v.MarshalJSON()
		if err != nil {
			t.Fatalf("%s: MarshalJSON: %v", dir, err)
		}
		want, err := decodeJSON(b)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		var got DesiredState
		if err := decodeValue(v, &got); err != nil {
			t.Fatalf("%s: decodeValue: %v", dir, err)
		}
		if !reflect.DeepEqual(&got, want) {
			t.Errorf("%s: decodeValue gives\n%+v\nwant (from JSON)\n%+v", dir, got, *want)
		}
	}
}

// evaluatedValue is the desired state of dir, valid, as evaluate has it
// before decoding.
func evaluatedValue(t *testing.T, dir string) cue.Value {
	t.Helper()
	if _, err := LoadDir(dir); err != nil {
		t.Fatalf("%s is not valid: %v", dir, err)
	}
	fsys, inside, err := dirFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	files, pkgs, errs := parseTree(fsys, inside)
	if errs != nil {
		t.Fatal(errs)
	}
	ctx := cuecontext.New()
	x, errs := buildUser(ctx, files, pkgs)
	if errs != nil {
		t.Fatal(errs)
	}
	def, err := compileSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v := x.user.Unify(def)
	if err := v.Validate(cue.Concrete(true)); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestGoTypesHoldEverySchemaField walks #DesiredState beside DesiredState
// and requires a Go field for every field the schema allows, optional ones
// and those of each strategy kind included: decodeValue looks up the
// fields the types name, so a field the types lacked would be dropped
// (the JSON decoding refused it). An adapter's settings are decoded by the
// adapter itself, strictly.
func TestGoTypesHoldEverySchemaField(t *testing.T) {
	ctx := cuecontext.New()
	def, err := compileSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(s cue.Value, typ reflect.Type, path string)
	walk = func(s cue.Value, typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if reflect.PointerTo(typ).Implements(unmarshalerType) {
			return
		}
		switch typ.Kind() {
		case reflect.Slice:
			walk(s.LookupPath(cue.MakePath(cue.AnyIndex)), typ.Elem(), path+"[]")
			return
		case reflect.Map:
			// A key every pattern of the schema's maps matches.
			walk(s.LookupPath(cue.MakePath(cue.Str("SAMPLE").Optional())), typ.Elem(), path+".*")
			return
		case reflect.Struct:
		default:
			return
		}
		known := map[string]int{}
		for _, f := range fieldsOfType(typ) {
			known[f.name] = f.index
		}
		for _, variant := range kindVariants(t, s) {
			it, err := variant.Fields(cue.Optional(true))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for it.Next() {
				name := it.Selector().Unquoted()
				i, ok := known[name]
				if !ok {
					t.Errorf("%s.%s: the schema allows it, %s has no field for it", path, name, typ)
					continue
				}
				walk(it.Value(), typ.Field(i).Type, path+"."+name)
			}
		}
	}
	walk(def, reflect.TypeFor[DesiredState](), "#DesiredState")
}

// kindVariants is s once per value its kind field may take, or s alone
// when it has no kind.
func kindVariants(t *testing.T, s cue.Value) []cue.Value {
	kind := s.LookupPath(cue.MakePath(cue.Str("kind")))
	if !kind.Exists() {
		return []cue.Value{s}
	}
	op, alts := kind.Expr()
	if op != cue.OrOp {
		t.Fatalf("%v: kind is not a disjunction", s.Path())
	}
	var out []cue.Value
	for _, k := range alts {
		name, err := k.String()
		if err != nil {
			t.Fatalf("%v: kind %v: %v", s.Path(), k, err)
		}
		out = append(out, s.FillPath(cue.MakePath(cue.Str("kind")), name))
	}
	return out
}
