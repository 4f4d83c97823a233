package schema

import (
	"slices"

	"cuelang.org/go/cue"
)

// CUE stops short once a value is in error: it does not report a field the
// schema does not allow when something else in the same struct is wrong, and
// it reports no missing value once any other error exists. The passes here
// walk the values themselves to find those, worded as explain words them.

// unknownFields reports every field the user wrote at or below sels that
// the schema does not allow there, with the allowed fields.
func (x *explainer) unknownFields(sels []cue.Selector) Errors {
	it, err := x.user.LookupPath(cue.MakePath(sels...)).Fields()
	if err != nil {
		return nil
	}
	schema, kindOK := x.narrowByKind(x.schemaAt(sels), sels)
	if !kindOK {
		return x.unknownToEveryKindAt(sels, it)
	}
	if schema.IncompleteKind()&cue.StructKind == 0 {
		return nil
	}
	var errs Errors
	for it.Next() {
		sel := it.Selector()
		if !sel.IsString() {
			continue
		}
		at := append(slices.Clone(sels), sel)
		if !schema.Allows(sel) {
			errs = append(errs, x.errorAt(at, x.notAllowed(at)))
			continue
		}
		errs = append(errs, x.unknownFields(at)...)
		errs = append(errs, x.unknownInList(it.Value(), at)...)
	}
	return errs
}

// unknownToEveryKindAt reports, in a struct discriminated by kind where the
// user wrote none, the fields of it that no kind allows. Where the user's
// kind is wrong instead, nothing is known of what they meant.
func (x *explainer) unknownToEveryKindAt(sels []cue.Selector, it *cue.Iterator) Errors {
	var errs Errors
	for it.Next() {
		at := append(slices.Clone(sels), it.Selector())
		if it.Selector().IsString() && x.unknownToEveryKind(at) {
			errs = append(errs, x.errorAt(at, x.notAllowed(at)))
		}
	}
	return errs
}

// unknownInList runs unknownFields over the elements of a list.
func (x *explainer) unknownInList(v cue.Value, sels []cue.Selector) Errors {
	var errs Errors
	for i := range listOf(v) {
		at := append(slices.Clone(sels), cue.Index(i))
		errs = append(errs, x.unknownFields(at)...)
	}
	return errs
}

// missingValues reports every required field at or below sels of the
// evaluated value v that has no concrete value, skipping values in error
// (those are reported as what they are).
func (x *explainer) missingValues(v cue.Value, sels []cue.Selector) Errors {
	if d, ok := v.Default(); ok {
		v = d
	}
	// A struct or list holding an error is itself in error: its fields are
	// still walked.
	kind := v.IncompleteKind()
	if kind&cue.StructKind != 0 || kind == cue.BottomKind {
		if it, err := v.Fields(); err == nil {
			var errs Errors
			for it.Next() {
				if it.Selector().IsString() {
					errs = append(errs, x.missingValues(it.Value(), append(slices.Clone(sels), it.Selector()))...)
				}
			}
			return errs
		}
	}
	if kind&cue.ListKind != 0 || kind == cue.BottomKind {
		if it, err := v.List(); err == nil {
			var errs Errors
			for i := 0; it.Next(); i++ {
				errs = append(errs, x.missingValues(it.Value(), append(slices.Clone(sels), cue.Index(i)))...)
			}
			return errs
		}
	}
	if v.Err() != nil || v.IsConcrete() || len(sels) == 0 {
		return nil
	}
	msg, at := x.missing(sels)
	return Errors{x.errorAt(at, msg)}
}

// inAllowedField reports whether every field on the path sels is one the
// schema allows: a field under a misspelt one is not reported again.
func (x *explainer) inAllowedField(sels []cue.Selector) bool {
	for i := range sels {
		if !sels[i].IsString() {
			continue
		}
		parent := x.byKind(x.schemaAt(sels[:i]), sels[:i])
		if parent.Exists() && parent.IncompleteKind()&cue.StructKind != 0 && !parent.Allows(sels[i]) {
			return false
		}
	}
	return true
}

// union appends the errors of more that es does not already hold: the same
// problem at the same path, worded the same, is one problem.
func (es Errors) union(more Errors) Errors {
	type key struct{ path, msg string }
	have := map[key]bool{}
	for _, e := range es {
		have[key{e.Path, e.Message}] = true
	}
	for _, e := range more {
		if k := (key{e.Path, e.Message}); !have[k] {
			have[k] = true
			es = append(es, e)
		}
	}
	return es
}
