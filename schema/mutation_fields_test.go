package schema

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
)

// The mutation suite (mutation_test.go) is generated from the schema: this
// file walks #DesiredState for every field it declares, at every depth and
// for every kind of a struct discriminated by kind, and builds a valid
// desired state that sets each one.

// step is one step of a field's path from the root of the desired state.
type step struct {
	// label is the field's name, or the name chosen for a label that a
	// pattern constraint admits ([Name=string]: …); empty for a list element.
	label string
	// pattern reports that label was chosen, not declared by the schema.
	pattern bool
	// schema is the schema of the value the step reaches, narrowed to kind
	// where the schema discriminates it by kind.
	schema cue.Value
	// kind is the kind the value reached is given, or "".
	kind string
}

// schemaField is one field of the schema, at one place.
type schemaField struct {
	steps []step
	// parent is the schema of the struct holding the field, narrowed.
	parent cue.Value
}

// id names the field as the suite reports it: its path with the chosen
// names as *, list elements as [] and kinds in parentheses, e.g.
// targets.*.runtime(docker).host.
func (f schemaField) id() string {
	var b strings.Builder
	for i, s := range f.steps {
		switch {
		case s.label == "":
			b.WriteString("[]")
		case s.pattern:
			b.WriteString(".*")
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.label)
		}
		if s.kind != "" {
			b.WriteString("(" + s.kind + ")")
		}
	}
	return b.String()
}

// last is the field's own step.
func (f schemaField) last() step { return f.steps[len(f.steps)-1] }

// declared reports whether the field is one the schema names, rather than
// a value under a pattern or a list element: a misspelling applies to it.
func (f schemaField) declared() bool { return f.last().label != "" && !f.last().pattern }

// leaf reports whether the field holds a scalar.
func (f schemaField) leaf() bool {
	return !structLike(f.last().schema) && f.last().schema.IncompleteKind()&cue.ListKind == 0
}

// structLike reports whether v may be a struct, including a struct whose
// fields wait for its kind (isStruct).
func structLike(v cue.Value) bool {
	return v.IncompleteKind()&cue.StructKind != 0 || isStruct(v)
}

// labelPool are the names tried, in order, where a pattern constraint admits
// names: the base desired state's service and target are both "web".
var labelPool = []string{"web", "api"}

// schemaFields walks the schema from #DesiredState and lists every field.
func schemaFields() ([]schemaField, error) {
	def, err := compileSchema(cuecontext.New())
	if err != nil {
		return nil, err
	}
	var out []schemaField
	walkStruct(def, nil, &out)
	return out, nil
}

// walkStruct lists the fields of the struct v, reached by at, then walks
// into each.
func walkStruct(v cue.Value, at []step, out *[]schemaField) {
	if len(at) > 12 {
		panic(fmt.Sprintf("schema deeper than 12 at %v: a recursive definition?", at))
	}
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		panic(fmt.Sprintf("schema at %v: %v", at, err))
	}
	var declared []string
	for it.Next() {
		if !it.Selector().IsString() {
			continue
		}
		declared = append(declared, it.Selector().Unquoted())
		walkValue(v, it.Value(), append(slices.Clone(at), step{label: it.Selector().Unquoted()}), out)
	}
	// A pattern constraint: the value it gives a name it admits.
	for _, label := range labelPool {
		sel := cue.Str(label)
		if !v.Allows(sel) || slices.Contains(declared, label) {
			continue
		}
		filled := v.FillPath(cue.MakePath(sel), v.Context().CompileString("_"))
		walkValue(v, filled.LookupPath(cue.MakePath(sel)), append(slices.Clone(at), step{label: label, pattern: true}), out)
		break
	}
}

// walkValue records the field reached by at, whose schema is v in the
// struct or list parent, and walks into it: into each kind of a struct
// discriminated by kind, into the elements of a list.
func walkValue(parent, v cue.Value, at []step, out *[]schemaField) {
	kinds := kindsOf(v)
	if len(kinds) == 0 {
		kinds = []string{""}
	}
	for _, kind := range kinds {
		s := v
		if kind != "" {
			s = v.FillPath(cue.MakePath(cue.Str("kind")), kind)
		}
		here := slices.Clone(at)
		here[len(here)-1].schema, here[len(here)-1].kind = s, kind
		// A struct under a pattern or in a list is no field of its own:
		// its fields are.
		if f := (schemaField{steps: here, parent: parent}); f.declared() || f.leaf() {
			*out = append(*out, f)
		}
		switch {
		case structLike(s):
			walkStruct(s, here, out)
		case s.IncompleteKind()&cue.ListKind != 0:
			walkValue(s, s.LookupPath(cue.MakePath(cue.AnyIndex)), append(here, step{}), out)
		}
	}
}

// kindsOf lists the kinds of a struct the schema discriminates by kind,
// or nil.
func kindsOf(v cue.Value) []string {
	if !structLike(v) {
		return nil
	}
	return alternatives(v.LookupPath(cue.MakePath(cue.Str("kind"))))
}

// valuePool are the scalars tried, in order, as a value for a field the
// desired state must set: the first the field's schema accepts and with
// which the whole desired state is valid is kept. A new field that none of
// them fits fails the suite, naming the field; add a value here.
var valuePool = []any{
	"web", "api", "x", "/healthz", "127.0.0.1:7071", "10s", "1Gi", sopsFile,
	"http://127.0.0.1:9090", "tcp://127.0.0.1:2376",
	"registry.example/web@sha256:abababababababababababababababababababababababababababababababab",
	2, 1, 200, 0, 0.5, true,
}

// sopsFile is a SOPS file every generated repository holds, for a secret to
// name.
const sopsFile = "secrets/web.enc.yaml"

// baseState is the desired state every generated one starts from: two
// services, so that one may depend on the other, and a target, a stage and
// a host of the name the label pool tries first.
func baseState() map[string]any {
	artifact := valuePool[10]
	return map[string]any{
		"services": map[string]any{
			"web": map[string]any{"artifact": artifact},
			"api": map[string]any{"artifact": artifact},
		},
		"targets": map[string]any{
			"web": map[string]any{
				"runtime": map[string]any{"kind": "process"},
				"traffic": map[string]any{"kind": "router", "admin": "edge"},
			},
		},
		"pipeline": map[string]any{
			"stages": []any{map[string]any{"name": "web", "targets": []any{"web"}}},
		},
		"hosts": map[string]any{"web": map[string]any{"address": "127.0.0.1:7071"}},
	}
}

// candidates are the values tried for a scalar field: its default, the
// alternatives of its disjunction, then the pool.
func candidates(v cue.Value) []any {
	var out []any
	if d, ok := v.Default(); (ok || v.IsConcrete()) && d.IsConcrete() {
		var x any
		if err := d.Decode(&x); err == nil {
			out = append(out, x)
		}
	}
	for _, a := range alternatives(v) {
		out = append(out, a)
	}
	return append(out, valuePool...)
}

// accepts reports whether the schema v accepts the concrete value x.
func accepts(v cue.Value, x any) bool {
	return v.Unify(v.Context().Encode(x)).Validate(cue.Concrete(true)) == nil
}

// setField returns a copy of state in which the field is set: a scalar to
// value, a struct or a list to a minimal valid one, every struct on its way
// given its kind and its required fields.
func setField(state map[string]any, f schemaField, value any) map[string]any {
	root := deepCopy(state).(map[string]any)
	var container any = root
	for i, s := range f.steps {
		get := func() any {
			if s.label == "" {
				return container.([]any)[0]
			}
			return container.(map[string]any)[s.label]
		}
		put := func(x any) {
			if s.label == "" {
				container.([]any)[0] = x
			} else {
				container.(map[string]any)[s.label] = x
			}
		}
		last := i == len(f.steps)-1
		switch {
		case structLike(s.schema):
			m, ok := get().(map[string]any)
			if !ok {
				m = map[string]any{}
				put(m)
			}
			if s.kind != "" && m["kind"] != s.kind {
				// Another kind's fields do not belong to this one.
				for label := range m {
					if !s.schema.Allows(cue.Str(label)) {
						delete(m, label)
					}
				}
				m["kind"] = s.kind
			}
			complete(m, s.schema)
			container = m
		case s.schema.IncompleteKind()&cue.ListKind != 0:
			l, ok := get().([]any)
			switch {
			case ok && len(l) > 0:
			case last:
				l, _ = required(s.schema).([]any)
				if l == nil {
					l = []any{}
				}
			default:
				l = []any{nil}
			}
			put(l)
			container = l
		default:
			put(value)
		}
	}
	return root
}

// complete gives the struct m, of schema v, each field v requires and has
// no default for: a struct or a list completed in turn, a scalar the first
// candidate v accepts.
func complete(m map[string]any, v cue.Value) {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return
	}
	for it.Next() {
		label := it.Selector().Unquoted()
		if it.IsOptional() || !it.Selector().IsString() {
			continue
		}
		if _, ok := m[label]; ok {
			continue
		}
		if x := required(it.Value()); x != nil {
			m[label] = x
		}
	}
}

// required is a minimal value for a field of schema v that the desired
// state must write, or nil when the schema completes it alone.
func required(v cue.Value) any {
	switch {
	case structLike(v):
		kinds := kindsOf(v)
		m := map[string]any{}
		if len(kinds) > 0 && !v.LookupPath(cue.MakePath(cue.Str("kind"))).IsConcrete() {
			if _, hasDefault := v.LookupPath(cue.MakePath(cue.Str("kind"))).Default(); !hasDefault {
				m["kind"] = kinds[0]
				v = v.FillPath(cue.MakePath(cue.Str("kind")), kinds[0])
			}
		}
		complete(m, v)
		if len(m) == 0 {
			return nil
		}
		return m
	case v.IncompleteKind()&cue.ListKind != 0:
		first := v.LookupPath(cue.MakePath(cue.Index(0)))
		if !first.Exists() {
			return nil
		}
		x := required(first)
		if x == nil {
			x = map[string]any{}
		}
		return []any{x}
	}
	if _, ok := v.Default(); ok || v.IsConcrete() {
		return nil
	}
	for _, c := range candidates(v) {
		if accepts(v, c) {
			return c
		}
	}
	return nil
}

// deepCopy copies a desired state made of maps, lists and scalars.
func deepCopy(x any) any {
	switch x := x.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[k] = deepCopy(v)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, v := range x {
			l[i] = deepCopy(v)
		}
		return l
	}
	return x
}

// concretePath is the path of the field in a desired state: its labels,
// and 0 for a list element.
func (f schemaField) concretePath() []any {
	p := make([]any, len(f.steps))
	for i, s := range f.steps {
		if s.label == "" {
			p[i] = 0
		} else {
			p[i] = s.label
		}
	}
	return p
}

// cuePath writes a concrete path as the loader's errors do.
func cuePath(p []any) string {
	sels := make([]cue.Selector, len(p))
	for i, x := range p {
		if n, ok := x.(int); ok {
			sels[i] = cue.Index(n)
		} else {
			sels[i] = cue.Str(x.(string))
		}
	}
	return pathString(sels)
}

// sortedKeys are the keys of m in order: every form writes them so.
func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

// scalarText writes a scalar as JSON, which CUE and YAML read alike.
func scalarText(x any) string {
	b, err := json.Marshal(x)
	if err != nil {
		panic(err)
	}
	return string(b)
}
