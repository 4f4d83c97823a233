package schema

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode"

	"cuelang.org/go/cue"
)

// mutationsEnv chooses how much of the mutation matrix runs: "all" runs
// every mutation (hack/full.sh sets it); a number reruns the sample of that
// seed; unset, the sample of the day.
const mutationsEnv = "DURABLE_MUTATIONS"

// sampleEvery is the share of the mutations beyond each field's first that
// a sample runs: one in sampleEvery.
const sampleEvery = 32

// mutation is one change that makes a valid desired state invalid, in one
// form, and what the loader must then say.
type mutation struct {
	field schemaField
	// name says what was changed, e.g. "drop a letter (replcas)".
	name  string
	form  form
	state map[string]any
	// path is the concrete path of the changed field: its misspelt label,
	// or the field whose value was changed.
	path []any
	// check reports what is wrong with the loader's errors, given where the
	// changed field was written.
	check func(errs Errors, at place) error
}

// TestMutations is the mutation suite: for every field of the schema (every
// definition reachable from #DesiredState, each adapter's settings and
// each kind included), a valid desired state that sets it is generated, in
// CUE, YAML and JSON; then the field is misspelt (a letter dropped, two
// swapped, a case changed) and, for a scalar, given the wrong type or a
// value out of range. The loader must reject each, positioned at the field,
// with the field meant or what was expected; the isolated child must say
// exactly the same. A field of the schema no mutation covers fails the
// suite.
func TestMutations(t *testing.T) {
	fields, err := schemaFields()
	if err != nil {
		t.Fatal(err)
	}
	all, seed := mutationSelection(t)
	var byField [][]mutation
	for _, f := range fields {
		ms, err := mutationsOf(f)
		if err != nil {
			t.Errorf("%s: %v", f.id(), err)
			continue
		}
		if len(ms) == 0 {
			t.Errorf("%s: no mutation applies to this field; teach the suite one", f.id())
			continue
		}
		byField = append(byField, ms)
	}
	var run []mutation
	total := 0
	for i, ms := range byField {
		total += len(ms)
		first := (i + seed) % len(ms)
		for j, m := range ms {
			if all || j == first || (i*31+j+seed)%sampleEvery == 0 {
				run = append(run, m)
			}
		}
	}
	iso := isolation(time.Minute, 0)
	for _, m := range run {
		t.Run(m.field.id()+"/"+m.name+"/"+m.form.file, func(t *testing.T) {
			m.run(t, iso)
		})
	}
	t.Logf("fields covered: %d of %d in the schema; mutations run: %d of %d (seed %d; %s=all runs them all, %s=%d this sample)",
		len(byField), len(fields), len(run), total, seed, mutationsEnv, mutationsEnv, seed)
}

// mutationSelection reads mutationsEnv: whether to run everything, and the
// sample's seed.
func mutationSelection(t *testing.T) (all bool, seed int) {
	switch v := os.Getenv(mutationsEnv); v {
	case "all":
		return true, 0
	case "":
		return false, int(time.Now().Unix() / 86400)
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.Fatalf("%s=%q: want all or a seed, a number", mutationsEnv, v)
		}
		return false, n
	}
}

// run loads the mutated repository in process and in the isolated child,
// and checks what they say.
func (m mutation) run(t *testing.T, iso Isolation) {
	w := newWriter()
	m.form.write(w, m.state)
	fsys := mutationRepo(m.form.file, w.b.String())
	_, err := Load(fsys)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Load: got %v, want schema.Errors; the file:\n%s", err, w.b.String())
	}
	for _, e := range errs {
		if e.File != m.form.file || e.Line == 0 {
			t.Errorf("error not positioned in %s: %s", m.form.file, e)
		}
	}
	at, ok := w.places[placeKey(m.path)]
	if !ok {
		t.Fatalf("%s was not written", cuePath(m.path))
	}
	if problem := m.check(errs, at); problem != nil {
		t.Errorf("%v; got:\n%s\nthe file:\n%s", problem, errs, w.b.String())
	}
	_, isoErr := iso.Load(context.Background(), fsys)
	if isoErr == nil || isoErr.Error() != err.Error() {
		t.Errorf("the isolated child disagrees:\n%v\nin process:\n%v", isoErr, err)
	}
}

// mutationRepo is a repository holding one file of the desired state, and
// the SOPS file a secret may name.
func mutationRepo(file, text string) fstest.MapFS {
	return fstest.MapFS{
		file:     &fstest.MapFile{Data: []byte(text)},
		sopsFile: &fstest.MapFile{Data: []byte("sops:\n  mac: generated\n")},
	}
}

// mutationsOf generates the valid desired state that sets f, checks that
// it loads alike in every form, and lists f's mutations in every form.
func mutationsOf(f schemaField) ([]mutation, error) {
	state, err := validState(f)
	if err != nil {
		return nil, err
	}
	if err := loadsAlike(state); err != nil {
		return nil, err
	}
	path := f.concretePath()
	var ms []mutation
	add := func(name string, mutated map[string]any, at []any, check func(Errors, place) error) {
		for _, fm := range forms {
			ms = append(ms, mutation{field: f, name: name, form: fm, state: mutated, path: at, check: check})
		}
	}
	if f.declared() {
		label := f.last().label
		allowed := fieldNames(f.parent)
		for _, typo := range misspellings(label, allowed) {
			at := append(append([]any{}, path[:len(path)-1]...), typo.label)
			add(typo.how+" ("+typo.label+")", renamed(state, path, typo.label), at, misspeltCheck(typo.label, label))
		}
	}
	if f.leaf() {
		leaf := f.last().schema
		if x, ok := wrongType(leaf); ok {
			add(fmt.Sprintf("wrong type (%s)", scalarText(x)), replaced(state, path, x), path, wrongTypeCheck(path, leaf.IncompleteKind()))
		}
		if x, ok := outOfRange(leaf); ok {
			attr := leaf.Attribute("durable")
			fix, _, _ := attr.Lookup(0, "fix")
			add(fmt.Sprintf("out of range (%s)", scalarText(x)), replaced(state, path, x), path, outOfRangeCheck(path, fix))
		}
	}
	return ms, nil
}

// validState is a valid desired state that sets f: for a scalar, to the
// first of its candidates with which the whole desired state loads.
func validState(f schemaField) (map[string]any, error) {
	if !f.leaf() {
		state := setField(baseState(), f, nil)
		return state, loadValid(state)
	}
	var last error
	for _, c := range candidates(f.last().schema) {
		if !accepts(f.last().schema, c) {
			continue
		}
		state := setField(baseState(), f, c)
		if last = loadValid(state); last == nil {
			return state, nil
		}
	}
	return nil, fmt.Errorf("no value of the pool makes a valid desired state that sets this field (last: %v); add one to valuePool", last)
}

// loadValid loads state, written as CUE, and reports why it is not valid.
func loadValid(state map[string]any) error {
	w := newWriter()
	writeCUE(w, state)
	if _, err := Load(mutationRepo("state.cue", w.b.String())); err != nil {
		return fmt.Errorf("%w\n%s", err, w.b.String())
	}
	return nil
}

// loadsAlike loads state in every form and requires the same desired
// state from each.
func loadsAlike(state map[string]any) error {
	var first *DesiredState
	for _, fm := range forms {
		w := newWriter()
		fm.write(w, state)
		ds, err := Load(mutationRepo(fm.file, w.b.String()))
		if err != nil {
			return fmt.Errorf("valid as CUE, not in %s: %v\n%s", fm.file, err, w.b.String())
		}
		if first == nil {
			first = ds
		} else if !reflect.DeepEqual(ds, first) {
			return fmt.Errorf("%s loads as %+v, state.cue as %+v", fm.file, ds, first)
		}
	}
	return nil
}

// misspelling is one way to misspell a label.
type misspelling struct{ how, label string }

// misspellings are a letter dropped, two letters swapped and a letter's
// case changed in label, each only where the loader's guess (closest) can
// only be label itself.
func misspellings(label string, allowed []string) []misspelling {
	r := []rune(label)
	var out []misspelling
	try := func(how string, variants func(i int) string) {
		for i := range r {
			v := variants(i)
			if v != "" && v != label && !slices.Contains(allowed, v) && closest(v, allowed) == label {
				out = append(out, misspelling{how, v})
				return
			}
		}
	}
	try("drop a letter", func(i int) string {
		if len(r) < 2 {
			return ""
		}
		return string(r[:i]) + string(r[i+1:])
	})
	try("swap two letters", func(i int) string {
		if i+1 >= len(r) || r[i] == r[i+1] {
			return ""
		}
		s := []rune(label)
		s[i], s[i+1] = s[i+1], s[i]
		return string(s)
	})
	try("change a case", func(i int) string {
		s := []rune(label)
		if unicode.IsUpper(s[i]) {
			s[i] = unicode.ToLower(s[i])
		} else {
			s[i] = unicode.ToUpper(s[i])
		}
		return string(s)
	})
	return out
}

// wrongType is a scalar of another type than the leaf's, which it rejects.
func wrongType(leaf cue.Value) (any, bool) {
	x := any("x")
	if leaf.IncompleteKind()&cue.StringKind != 0 {
		x = 7
	}
	return x, !accepts(leaf, x)
}

// outOfRangePool are the values tried, in order, for a value of a leaf's
// own type that it rejects.
var outOfRangePool = []any{0, -1, 100000, 2000000000000, -0.5, 1.5, 300.5, "", "Not Valid!", "/", "x"}

// outOfRange is a value of the leaf's type that it rejects, if any.
func outOfRange(leaf cue.Value) (any, bool) {
	for _, x := range outOfRangePool {
		if leaf.Context().Encode(x).Kind()&leaf.IncompleteKind() != 0 && !accepts(leaf, x) {
			return x, true
		}
	}
	return nil, false
}

// renamed is state with the label at path renamed to label.
func renamed(state map[string]any, path []any, label string) map[string]any {
	out := deepCopy(state).(map[string]any)
	parent := lookup(out, path[:len(path)-1]).(map[string]any)
	old := path[len(path)-1].(string)
	parent[label] = parent[old]
	delete(parent, old)
	return out
}

// replaced is state with the value at path replaced by x.
func replaced(state map[string]any, path []any, x any) map[string]any {
	out := deepCopy(state).(map[string]any)
	switch parent, key := lookup(out, path[:len(path)-1]), path[len(path)-1]; p := parent.(type) {
	case map[string]any:
		p[key.(string)] = x
	case []any:
		p[key.(int)] = x
	}
	return out
}

// lookup is the value at a concrete path.
func lookup(v any, path []any) any {
	for _, k := range path {
		if i, ok := k.(int); ok {
			v = v.([]any)[i]
		} else {
			v = v.(map[string]any)[k.(string)]
		}
	}
	return v
}

// errorAt is the error positioned at line:col, if any.
func errorAt(errs Errors, line, col int) (Error, bool) {
	for _, e := range errs {
		if e.Line == line && e.Col == col {
			return e, true
		}
	}
	return Error{}, false
}

// misspeltCheck requires an error at the misspelt label that names it and
// the field meant.
func misspeltCheck(typo, meant string) func(Errors, place) error {
	return func(errs Errors, at place) error {
		e, ok := errorAt(errs, at.keyLine, at.keyCol)
		if !ok {
			return fmt.Errorf("no error at the misspelt %q (%d:%d)", typo, at.keyLine, at.keyCol)
		}
		for _, want := range []string{fmt.Sprintf("field %q is not allowed", typo), fmt.Sprintf("did you mean %q?", meant)} {
			if !strings.Contains(e.Message, want) {
				return fmt.Errorf("the error at %d:%d does not say %s", at.keyLine, at.keyCol, want)
			}
		}
		return nil
	}
}

// kindWords are the words that name a kind in the loader's messages, its
// own or CUE's.
var kindWords = map[cue.Kind][]string{
	cue.StringKind: {"string"},
	cue.IntKind:    {"integer", "int"},
	cue.FloatKind:  {"number", "float"},
	cue.NumberKind: {"number", "float", "int"},
	cue.BoolKind:   {"bool"},
}

// wrongTypeCheck requires an error at the value of path that names the
// type expected.
func wrongTypeCheck(path []any, want cue.Kind) func(Errors, place) error {
	return func(errs Errors, at place) error {
		e, ok := errorAt(errs, at.valLine, at.valCol)
		if !ok || e.Path != cuePath(path) {
			return fmt.Errorf("no error about %s at its value (%d:%d)", cuePath(path), at.valLine, at.valCol)
		}
		for _, w := range kindWords[want] {
			if strings.Contains(strings.ToLower(e.Message), w) {
				return nil
			}
		}
		return fmt.Errorf("the error does not name the type expected (%v)", want)
	}
}

// outOfRangeCheck requires an error at the value of path, with the
// schema's advice for the field when it has some.
func outOfRangeCheck(path []any, fix string) func(Errors, place) error {
	return func(errs Errors, at place) error {
		e, ok := errorAt(errs, at.valLine, at.valCol)
		if !ok || e.Path != cuePath(path) {
			return fmt.Errorf("no error about %s at its value (%d:%d)", cuePath(path), at.valLine, at.valCol)
		}
		if !strings.Contains(e.Message, fix) {
			return fmt.Errorf("the error does not give the schema's advice %q", fix)
		}
		return nil
	}
}
