package schema

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"
)

// explainer turns CUE errors into Errors a person can act on: positioned in
// the user's files rather than the schema, and worded with the fix that the
// schema's @durable(fix=...) attribute gives for the field.
type explainer struct {
	// files are the names of the user's files; a position elsewhere (in the
	// schema) is never shown when a user position exists.
	files map[string]bool
	// user is the user's own value, before the schema: it holds what they
	// wrote and where.
	user cue.Value
	// def is #DesiredState, or the zero Value while the user's files are
	// checked on their own.
	def cue.Value
	// anchor is where a problem with no place in the user's files is shown:
	// the package clause of the first file.
	anchor Error
}

// explain converts every error CUE reports in err.
func (x *explainer) explain(err error) Errors {
	list := cueerrors.Errors(err)
	perPath := map[string]int{}
	for _, e := range list {
		perPath[strings.Join(e.Path(), "\x00")]++
	}
	var out Errors
	for _, e := range list {
		format, _ := e.Msg()
		// A disjunction's summary says nothing its own errors do not.
		if strings.HasSuffix(format, "errors in empty disjunction:") && perPath[strings.Join(e.Path(), "\x00")] > 1 {
			continue
		}
		out = append(out, x.one(e)...)
	}
	return out
}

// unexplained is err as CUE words it, positioned where the user wrote the
// value or its closest ancestor: for the rare error explain leaves to
// another one (a field under a kind in error) when that other one is not
// reported either, so that an invalid desired state never loads for want of
// words.
func (x *explainer) unexplained(err error) Errors {
	var out Errors
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		sels := selectors(e.Path())
		msg := fmt.Sprintf(format, args...)
		if shown := pathString(sels); shown != "" {
			msg = shown + ": " + msg
		}
		out = append(out, x.errorAt(sels, msg))
	}
	return out
}

// one converts one CUE error into one Error per place in the user's files.
func (x *explainer) one(e cueerrors.Error) Errors {
	format, args := e.Msg()
	sels := selectors(e.Path())
	shown := pathString(sels)
	places := x.userPlaces(e)
	var msg string
	switch {
	case format == "field not allowed" && len(sels) > 0:
		parent := sels[:len(sels)-1]
		if !x.inAllowedField(parent) || x.kindInError(parent) && !x.unknownToEveryKind(sels) {
			return nil
		}
		msg = x.notAllowed(sels)
		if x.schemaAllows(sels) {
			msg = fmt.Sprintf("%s: a closed definition in your files does not allow field %s, which Durable's schema gives a default; use an open struct rather than a definition there",
				pathString(sels[:len(sels)-1]), quoteLabel(sels[len(sels)-1]))
		}
	case strings.HasPrefix(format, "incomplete value") || strings.HasPrefix(format, "non-concrete value"):
		msg, sels = x.missing(sels)
		shown = pathString(sels)
	default:
		if m, ok := x.invalid(sels, format, args); ok {
			msg = m
			break
		}
		msg = fmt.Sprintf(format, args...)
		if shown != "" {
			msg = shown + ": " + msg
		}
		if strings.HasPrefix(format, "conflicting values") && len(places) > 1 {
			msg += "; set it in one place only"
		}
	}
	if len(places) == 0 {
		places = x.nearest(sels)
	}
	if len(places) == 0 {
		a := x.anchor
		a.Path, a.Message = shown, msg
		return Errors{a}
	}
	out := make(Errors, 0, len(places))
	for _, p := range places {
		out = append(out, Error{File: p.Filename(), Line: p.Line(), Col: p.Column(), Path: shown, Message: msg})
	}
	return out
}

// userPlaces are the positions of e inside the user's files.
func (x *explainer) userPlaces(e cueerrors.Error) []token.Pos {
	var out []token.Pos
	for _, p := range append([]token.Pos{e.Position()}, cueerrors.Positions(e)...) {
		if x.files[p.Filename()] && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// nearest is where the user wrote the value at sels or, failing that, its
// closest ancestor: a missing field is shown where its parent is written.
func (x *explainer) nearest(sels []cue.Selector) []token.Pos {
	for i := len(sels); i > 0; i-- {
		v := x.user.LookupPath(cue.MakePath(sels[:i]...))
		if !v.Exists() {
			continue
		}
		if p := v.Pos(); x.files[p.Filename()] {
			return []token.Pos{p}
		}
	}
	return nil
}

// notAllowed words a closedness error, listing the fields that are allowed.
func (x *explainer) notAllowed(sels []cue.Selector) string {
	field := sels[len(sels)-1]
	parent := sels[:len(sels)-1]
	where := "at the top level"
	if len(parent) > 0 {
		where = "in " + pathString(parent)
	}
	msg := fmt.Sprintf("field %s is not allowed %s", quoteLabel(field), where)
	if !x.def.Exists() {
		return msg
	}
	schema, kindOK := x.narrowByKind(x.schemaAt(parent), parent)
	allowed := fieldNames(schema)
	if !kindOK && x.kindMissing(parent) {
		allowed = everyKindsFields(schema)
	}
	if len(allowed) == 0 {
		return msg
	}
	msg += " (allowed: " + strings.Join(allowed, ", ") + ")"
	if guess := closest(field.Unquoted(), allowed); guess != "" {
		msg += fmt.Sprintf("; did you mean %q?", guess)
	}
	return msg
}

// kindInError reports whether the schema's struct at sels is discriminated
// by kind and the user's kind there is not a valid one: the fields of the
// kind they meant are then not known, and not reported as unknown.
func (x *explainer) kindInError(sels []cue.Selector) bool {
	if !x.def.Exists() {
		return false
	}
	_, ok := x.narrowByKind(x.schemaAt(sels), sels)
	return !ok
}

// kindMissing reports whether the schema's struct at sels is discriminated
// by kind and the user wrote no kind there. It matters where the schema has
// no default kind either (narrowByKind takes the default): the fields of
// every kind are then the fields allowed.
func (x *explainer) kindMissing(sels []cue.Selector) bool {
	kindPath := cue.MakePath(cue.Str("kind"))
	return x.def.Exists() && x.schemaAt(sels).LookupPath(kindPath).Exists() &&
		!x.user.LookupPath(cue.MakePath(append(slices.Clone(sels), cue.Str("kind"))...)).Exists()
}

// unknownToEveryKind reports whether the last field of sels is one that no
// kind of the struct holding it allows, where the user wrote no kind: a
// misspelt kind is itself such a field.
func (x *explainer) unknownToEveryKind(sels []cue.Selector) bool {
	parent := sels[:len(sels)-1]
	if !x.kindMissing(parent) {
		return false
	}
	return !slices.Contains(everyKindsFields(x.schemaAt(parent)), sels[len(sels)-1].Unquoted())
}

// everyKindsFields are the fields any kind of a struct discriminated by
// kind allows, in the order of its kinds.
func everyKindsFields(schema cue.Value) []string {
	kindPath := cue.MakePath(cue.Str("kind"))
	var names []string
	for _, kind := range alternatives(schema.LookupPath(kindPath)) {
		for _, name := range fieldNames(schema.FillPath(kindPath, kind)) {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return names
}

// schemaAllows reports whether Durable's schema allows the last field of
// sels in its struct.
func (x *explainer) schemaAllows(sels []cue.Selector) bool {
	if !x.def.Exists() {
		return false
	}
	parent := sels[:len(sels)-1]
	return x.byKind(x.schemaAt(parent), parent).Allows(sels[len(sels)-1])
}

// missing words an incomplete value: the first field on the path the user
// did not write is missing; if they wrote them all, the value is not concrete.
// It returns the path the message is about.
func (x *explainer) missing(sels []cue.Selector) (string, []cue.Selector) {
	for i := range sels {
		if x.user.LookupPath(cue.MakePath(sels[:i+1]...)).Exists() {
			continue
		}
		msg := pathString(sels[:i+1]) + " is missing"
		if fix, _, ok := x.advice(sels[:i+1]); ok {
			msg += "; " + fix
		}
		return msg, sels[:i+1]
	}
	msg := pathString(sels) + " has no concrete value"
	if fix, _, ok := x.advice(sels); ok {
		msg += "; " + fix
	}
	return msg, sels
}

// invalid words a value the schema rejects, with the schema's advice. It
// reports false when the schema has no advice for the path.
func (x *explainer) invalid(sels []cue.Selector, format string, args []any) (string, bool) {
	fix, problem, ok := x.advice(sels)
	if !ok {
		return "", false
	}
	shown := pathString(sels)
	v := x.user.LookupPath(cue.MakePath(sels...))
	if v.Exists() && v.Err() == nil && v.IsConcrete() {
		want := x.schemaAt(sels).IncompleteKind()
		if got := v.Kind(); want&got == 0 && kindName(want) != "" {
			return fmt.Sprintf("%s: %s is %s, not %s; %s", shown, describe(v), kindName(got), kindName(want), fix), true
		}
		return fmt.Sprintf("%s: %s %s; %s", shown, describe(v), problem, fix), true
	}
	if strings.HasPrefix(format, "invalid value %v") && len(args) > 0 {
		return fmt.Sprintf("%s: %s %s; %s", shown, shorten(fmt.Sprint(args[0])), problem, fix), true
	}
	return fmt.Sprintf("%s %s; %s", shown, problem, fix), true
}

// advice reads @durable(fix=..., invalid=...) for the field at sels, taking
// the fix from the closest ancestor that has one when the field has none (an
// entry of env, an element of args).
func (x *explainer) advice(sels []cue.Selector) (fix, problem string, ok bool) {
	if !x.def.Exists() {
		return "", "", false
	}
	problem = "is not valid"
	for i := len(sels); i > 0; i-- {
		attr := x.schemaAt(sels[:i]).Attribute("durable")
		fix, found, _ := attr.Lookup(0, "fix")
		if !found {
			continue
		}
		if i == len(sels) {
			if p, found, _ := attr.Lookup(0, "invalid"); found {
				problem = p
			}
		}
		return fix, problem, true
	}
	return "", "", false
}

// schemaAt walks the schema along sels, through pattern constraints
// ([Name=string]: …) and list element types where no field matches. Where the
// schema's struct is discriminated by kind, it takes the kind the user wrote,
// so that the fields of that kind are found.
// The value returned is the field itself (its attributes intact); only the
// structs on the way are narrowed.
func (x *explainer) schemaAt(sels []cue.Selector) cue.Value {
	v := x.def
	for i, sel := range sels {
		parent := x.byKind(v, sels[:i])
		v = parent.LookupPath(cue.MakePath(sel))
		if !v.Exists() && sel.IsString() {
			v = parent.LookupPath(cue.MakePath(cue.Str(sel.Unquoted()).Optional()))
		}
		if !v.Exists() {
			anyOf := cue.AnyString
			if sel.Type() == cue.IndexLabel {
				anyOf = cue.AnyIndex
			}
			v = parent.LookupPath(cue.MakePath(anyOf))
		}
	}
	return v
}

// byKind narrows a schema struct with a kind field to the kind the user
// wrote at sels, when they wrote a valid one.
func (x *explainer) byKind(schema cue.Value, sels []cue.Selector) cue.Value {
	v, _ := x.narrowByKind(schema, sels)
	return v
}

// narrowByKind is byKind, also reporting false when schema is discriminated
// by kind and the user's kind at sels is missing or not one of them (schema
// is then returned as it is). Where the user wrote no kind and the schema
// has a default one, that is the kind.
func (x *explainer) narrowByKind(schema cue.Value, sels []cue.Selector) (cue.Value, bool) {
	kindPath := cue.MakePath(cue.Str("kind"))
	if !schema.LookupPath(kindPath).Exists() {
		return schema, true
	}
	written := x.user.LookupPath(cue.MakePath(append(slices.Clone(sels), cue.Str("kind"))...))
	if !written.Exists() {
		if def, ok := schema.LookupPath(kindPath).Default(); ok {
			written = def
		}
	}
	kind, err := written.String()
	if err != nil {
		return schema, false
	}
	if narrowed := schema.FillPath(kindPath, kind); narrowed.Err() == nil {
		return narrowed, true
	}
	return schema, false
}

// fieldNames are the regular fields a closed struct of the schema allows.
func fieldNames(v cue.Value) []string {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var names []string
	for it.Next() {
		if it.Selector().IsString() {
			names = append(names, it.Selector().Unquoted())
		}
	}
	return names
}

// closest is the allowed name a misspelt one most likely meant, or "".
func closest(name string, allowed []string) string {
	best, bestDist := "", 3
	for _, a := range allowed {
		if d := EditDistance(strings.ToLower(name), strings.ToLower(a)); d < bestDist {
			best, bestDist = a, d
		}
	}
	return best
}

// EditDistance is the Levenshtein distance between a and b, in runes: what
// every did-you-mean of Durable measures nearness with.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// selectors turns the path of a CUE error back into selectors.
func selectors(path []string) []cue.Selector {
	sels := make([]cue.Selector, 0, len(path))
	for _, s := range path {
		switch {
		case strings.HasPrefix(s, "#"):
			sels = append(sels, cue.Def(s))
		case strings.HasPrefix(s, `"`):
			if u, err := literal.Unquote(s); err == nil {
				s = u
			}
			sels = append(sels, cue.Str(s))
		default:
			if n, err := strconv.Atoi(s); err == nil && n >= 0 {
				sels = append(sels, cue.Index(n))
			} else {
				sels = append(sels, cue.Str(s))
			}
		}
	}
	return sels
}

// pathString writes sels as CUE does: services.web.run, stages[0].name.
func pathString(sels []cue.Selector) string {
	if len(sels) == 0 {
		return ""
	}
	return cue.MakePath(sels...).String()
}

// quoteLabel writes a field name for a message.
func quoteLabel(sel cue.Selector) string {
	if sel.IsString() {
		return strconv.Quote(sel.Unquoted())
	}
	return sel.String()
}

// describe writes a concrete value the way a person would quote it, short.
func describe(v cue.Value) string {
	switch v.Kind() {
	case cue.StringKind:
		s, _ := v.String()
		return quoteShort(s)
	case cue.StructKind:
		return "a struct"
	case cue.ListKind:
		return "a list"
	default:
		return shorten(fmt.Sprint(v))
	}
}

// quoteShort quotes s, keeping at most 60 runes of it.
func quoteShort(s string) string {
	r := []rune(s)
	if len(r) <= 60 {
		return strconv.Quote(s)
	}
	return strconv.Quote(string(r[:60])) + "…"
}

// shorten keeps at most 80 runes of s.
func shorten(s string) string {
	r := []rune(s)
	if len(r) <= 80 {
		return s
	}
	return string(r[:80]) + "…"
}

// kindName names a single kind with its article, or "" for a mix of kinds.
func kindName(k cue.Kind) string {
	switch k {
	case cue.StringKind:
		return "a string"
	case cue.IntKind:
		return "an integer"
	case cue.FloatKind, cue.NumberKind:
		return "a number"
	case cue.BoolKind:
		return "a bool"
	case cue.NullKind:
		return "null"
	case cue.StructKind:
		return "a struct"
	case cue.ListKind:
		return "a list"
	}
	return ""
}
