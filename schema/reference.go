package schema

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

// ReferenceCommand is the command that regenerates docs/schema.md, from the
// root of the source tree.
const ReferenceCommand = "go run ./cmd/durable schema doc -o docs/schema.md"

// Reference renders the reference of the desired-state schema as Markdown,
// from the schema itself (durable.cue and the adapters' settings.cue), so
// that the documentation cannot drift from what Durable enforces: every
// field of #DesiredState with its path, its type as the schema writes it,
// its default (defaults live in the schema), whether it is required, its
// doc comment and the advice Durable prints when a value is rejected
// (@durable(fix=...)). docs/schema.md is its output.
//
// The walk follows the evaluated schema, so that the fields listed are the
// fields CUE allows (those a kind adds included: each kind is filled in
// turn); the text of a type and its comment come from the field's
// declaration in the schema's source.
func Reference() ([]byte, error) {
	return renderReference(schemaFile, schemaSource)
}

// renderReference renders the reference of the schema src, whose entry
// point is #DesiredState.
func renderReference(name string, src []byte) ([]byte, error) {
	f, err := parser.ParseFile(name, src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("schema: parse the embedded schema: %w", err)
	}
	root := cuecontext.New().BuildFile(f)
	if err := root.Err(); err != nil {
		return nil, fmt.Errorf("schema: build the embedded schema: %w", err)
	}
	r := &reference{root: root, decls: indexDecls(f)}
	def := root.LookupPath(cue.MakePath(cue.Def("#DesiredState")))
	r.walk("", def, []scope{{def: "#DesiredState"}})

	var b bytes.Buffer
	r.writeIntro(&b, f)
	for _, s := range r.sections {
		s.write(&b)
	}
	r.writeNamedTypes(&b, f)
	return b.Bytes(), nil
}

// scope is where the declarations of a struct's fields are found: inside
// definition def, under the path prefix ("" for the definition's own
// fields, "bake." for those of its inline struct bake).
type scope struct {
	def, prefix string
}

func (s scope) key(label string) string { return s.def + " " + s.prefix + label }

// decls indexes the declarations of durable.cue by scope key. A pattern
// constraint's entries are under "*", a list's elements under "[]".
type decls struct {
	// fields are the declared fields, for their comments and value text.
	fields map[string]*ast.Field
	// values are the declared values: of fields, of pattern entries and
	// of list elements.
	values map[string]ast.Expr
	// aliases name a pattern's key ([Name=string]: …), by the pattern's key.
	aliases map[string]string
	// defs are the top-level definitions, by name.
	defs map[string]*ast.Field
	// kinds are the definitions a struct embeds for one value of its kind
	// field (if kind == "docker" {#DockerRuntime}), by kindKey.
	kinds map[string][]string
}

func indexDecls(f *ast.File) *decls {
	d := &decls{fields: map[string]*ast.Field{}, values: map[string]ast.Expr{}, aliases: map[string]string{}, defs: map[string]*ast.Field{}, kinds: map[string][]string{}}
	for _, decl := range f.Decls {
		if field, ok := decl.(*ast.Field); ok {
			if name := definitionName(field); name != "" {
				d.defs[name] = field
				d.add(scope{def: name}, field.Value)
			}
		}
	}
	return d
}

// add indexes the declarations inside expr, a value declared in s.
func (d *decls) add(s scope, expr ast.Expr) {
	switch x := expr.(type) {
	case *ast.StructLit:
		for _, elt := range x.Elts {
			switch e := elt.(type) {
			case *ast.Field:
				label := "*"
				switch l := e.Label.(type) {
				case *ast.ListLit:
					if len(l.Elts) == 1 {
						if a, ok := l.Elts[0].(*ast.Alias); ok {
							d.aliases[s.key(label)] = a.Ident.Name
						}
					}
				default:
					name, _, err := ast.LabelName(e.Label)
					if err != nil {
						continue
					}
					label = name
				}
				if _, dup := d.fields[s.key(label)]; !dup {
					d.fields[s.key(label)] = e
					d.values[s.key(label)] = e.Value
				}
				d.add(scope{s.def, s.prefix + label + "."}, e.Value)
			case *ast.Comprehension:
				if kind := kindCondition(e); kind != "" {
					d.kinds[kindKey(s, kind)] = append(d.kinds[kindKey(s, kind)], definitionRefs(e.Value)...)
				}
				d.add(s, e.Value)
			case *ast.EmbedDecl:
				d.add(s, e.Expr)
			}
		}
	case *ast.BinaryExpr:
		d.add(s, x.X)
		d.add(s, x.Y)
	case *ast.ParenExpr:
		d.add(s, x.X)
	case *ast.ListLit:
		for _, elt := range x.Elts {
			if e, ok := elt.(*ast.Ellipsis); ok {
				elt = e.Type
			}
			if elt == nil {
				continue
			}
			if _, dup := d.values[s.key("[]")]; !dup {
				d.values[s.key("[]")] = elt
			}
			d.add(scope{s.def, s.prefix + "[]."}, elt)
		}
	}
}

// kindCondition is the kind a comprehension is for when it reads
// if kind == "KIND" {…}, or "".
func kindCondition(c *ast.Comprehension) string {
	if len(c.Clauses) != 1 {
		return ""
	}
	clause, ok := c.Clauses[0].(*ast.IfClause)
	if !ok {
		return ""
	}
	cond, ok := clause.Condition.(*ast.BinaryExpr)
	if !ok || cond.Op != token.EQL {
		return ""
	}
	id, isIdent := cond.X.(*ast.Ident)
	lit, isLit := cond.Y.(*ast.BasicLit)
	if !isIdent || id.Name != "kind" || !isLit || lit.Kind != token.STRING {
		return ""
	}
	kind, err := literal.Unquote(lit.Value)
	if err != nil {
		return ""
	}
	return kind
}

// kindKey is the key of decls.kinds for kind in scope s.
func kindKey(s scope, kind string) string { return s.key("") + " if kind == " + kind }

// kindScopes are the scopes of the definitions embedded for kind in
// scopes, each once.
func (d *decls) kindScopes(scopes []scope, kind string) []scope {
	var refs []string
	for _, s := range scopes {
		refs = append(refs, d.kinds[kindKey(s, kind)]...)
	}
	var out []scope
	for _, ref := range d.expand(refs, map[string]bool{}) {
		out = append(out, scope{def: ref})
	}
	return out
}

// field is the first declaration of label in scopes.
func (d *decls) field(scopes []scope, label string) *ast.Field {
	for _, s := range scopes {
		if f := d.fields[s.key(label)]; f != nil {
			return f
		}
	}
	return nil
}

// inner are the scopes of the value declared as label in scopes: the
// definitions it refers to, then its inline struct.
func (d *decls) inner(scopes []scope, label string) []scope {
	var out []scope
	for _, s := range scopes {
		v, ok := d.values[s.key(label)]
		if !ok {
			continue
		}
		for _, ref := range d.expand(definitionRefs(v), map[string]bool{}) {
			out = append(out, scope{def: ref})
		}
		out = append(out, scope{s.def, s.prefix + label + "."})
	}
	return out
}

// expand adds to refs the definitions they are built from in turn
// (#A: #B & {…} or #A: {#B, …}), each once.
func (d *decls) expand(refs []string, seen map[string]bool) []string {
	var out []string
	for _, ref := range refs {
		if seen[ref] {
			continue
		}
		seen[ref] = true
		out = append(out, ref)
		if def := d.defs[ref]; def != nil {
			out = append(out, d.expand(definitionRefs(def.Value), seen)...)
		}
	}
	return out
}

// fromKey reports whether label is set, in one of scopes, to the key of
// the pattern entry it is in (name: Name under [Name=string]).
func (d *decls) fromKey(scopes []scope, label string) bool {
	for _, s := range scopes {
		id, ok := d.values[s.key(label)].(*ast.Ident)
		alias := d.aliases[s.def+" "+strings.TrimSuffix(s.prefix, ".")]
		if ok && alias != "" && id.Name == alias {
			return true
		}
	}
	return false
}

// definitionName is the name of a top-level definition, or "".
func definitionName(f *ast.Field) string {
	if id, ok := f.Label.(*ast.Ident); ok && strings.HasPrefix(id.Name, "#") {
		return id.Name
	}
	return ""
}

// definitionRefs are the definitions expr is, is a conjunction of, or
// embeds.
func definitionRefs(expr ast.Expr) []string {
	switch x := expr.(type) {
	case *ast.StructLit:
		var refs []string
		for _, elt := range x.Elts {
			if e, ok := elt.(*ast.EmbedDecl); ok {
				refs = append(refs, definitionRefs(e.Expr)...)
			}
		}
		return refs
	case *ast.Ident:
		if strings.HasPrefix(x.Name, "#") {
			return []string{x.Name}
		}
	case *ast.BinaryExpr:
		if x.Op == token.AND {
			return append(definitionRefs(x.X), definitionRefs(x.Y)...)
		}
	case *ast.ParenExpr:
		return definitionRefs(x.X)
	}
	return nil
}

// reference is the state of one rendering.
type reference struct {
	root     cue.Value
	decls    *decls
	sections []*section
}

// section documents one struct of the schema: a table of its fields, and
// one more for the fields each of its kinds adds.
type section struct {
	path  string
	intro []string
	rows  []row
	kinds []kindRows
}

type kindRows struct {
	kind  string
	intro []string
	rows  []row
}

type row struct {
	field, typ, dflt, doc string
}

// member is one field of an evaluated struct.
type member struct {
	label    string
	optional bool
	v        cue.Value
}

// walk documents the struct v at path, its fields declared in scopes, and
// then, in order, every struct below it.
func (r *reference) walk(path string, v cue.Value, scopes []scope) {
	s := &section{path: path, intro: r.intro(scopes)}
	r.sections = append(r.sections, s)

	type child struct {
		path   string
		v      cue.Value
		scopes []scope
	}
	var children []child
	rowsOf := func(members []member, scopes []scope) []row {
		var rows []row
		for _, m := range members {
			row, cpath, cv, cscopes := r.row(path, m, scopes)
			rows = append(rows, row)
			if cpath != "" {
				children = append(children, child{cpath, cv, cscopes})
			}
		}
		return rows
	}
	common, kinds, variants := byKind(v)
	s.rows = rowsOf(common, scopes)
	for i, k := range kinds {
		own := r.decls.kindScopes(scopes, k)
		s.kinds = append(s.kinds, kindRows{kind: k, intro: r.intro(own), rows: rowsOf(variants[i], append(own, scopes...))})
	}
	for _, c := range children {
		r.walk(c.path, c.v, c.scopes)
	}
}

// intro is the doc comments of the definitions among scopes.
func (r *reference) intro(scopes []scope) []string {
	var out []string
	for _, sc := range scopes {
		if sc.prefix == "" {
			if doc := docText(r.decls.defs[sc.def]); doc != "" {
				out = append(out, doc)
			}
		}
	}
	return out
}

// row documents member m of the struct at path. When m is a struct (or a
// map or list of structs) with fields of its own, it also returns where its
// section is.
func (r *reference) row(path string, m member, scopes []scope) (row, string, cue.Value, []scope) {
	decl := r.decls.field(scopes, m.label)
	inner := r.decls.inner(scopes, m.label)
	out := row{field: "`" + m.label + "`", dflt: r.defaultText(m, scopes)}
	if decl != nil {
		out.typ = code(typeText(decl.Value))
		if id, ok := decl.Value.(*ast.Ident); ok && r.decls.defs[id.Name] != nil {
			if _, isStruct := r.decls.defs[id.Name].Value.(*ast.StructLit); !isStruct {
				out.typ = "[" + out.typ + "](#" + anchor(id.Name) + ")"
			}
		}
		out.doc = escape(docText(decl))
	} else {
		out.typ = code(shorten(oneLine(fmt.Sprint(m.v))))
	}
	attr := m.v.Attribute("durable")
	if fix, found, _ := attr.Lookup(0, "fix"); found {
		if out.doc != "" {
			out.doc += "<br>"
		}
		out.doc += "*If rejected:* " + escape(fix)
	}

	cpath, cv, cscopes, word := r.sectionOf(join(path, m.label), m.v, inner)
	if cpath == "" {
		return out, "", cue.Value{}, nil
	}
	text := word
	if decl != nil {
		if t := typeText(decl.Value); len(t) <= 32 && !strings.Contains(t, "{") {
			text = t
		}
	}
	out.typ = "[" + code(text) + "](#" + anchor(cpath) + ")"
	return out, cpath, cv, cscopes
}

// sectionOf says whether the value v at path gets a section of its own:
// a struct with fields, or a map or list whose entries are such structs.
func (r *reference) sectionOf(path string, v cue.Value, scopes []scope) (string, cue.Value, []scope, string) {
	if hasFields(v) {
		return path, v, scopes, "struct"
	}
	if isStruct(v) {
		entry := v.LookupPath(cue.MakePath(cue.AnyString))
		if !entry.Exists() {
			// A pattern narrower than any string ([=~"…"]: #X) is not
			// found that way: evaluate the definition it names.
			entry = r.declared(scopes, "*")
		}
		if hasFields(entry) {
			return path + ".<name>", entry, r.decls.inner(scopes, "*"), "map"
		}
	}
	if v.IncompleteKind() == cue.ListKind {
		if elem := v.LookupPath(cue.MakePath(cue.AnyIndex)); hasFields(elem) {
			return path + "[]", elem, r.decls.inner(scopes, "[]"), "list"
		}
	}
	return "", cue.Value{}, nil, ""
}

// declared evaluates the definition the value declared as label in scopes
// refers to, if it is one.
func (r *reference) declared(scopes []scope, label string) cue.Value {
	for _, s := range scopes {
		if refs := definitionRefs(r.decls.values[s.key(label)]); len(refs) == 1 {
			return r.root.LookupPath(cue.MakePath(cue.Def(refs[0])))
		}
	}
	return cue.Value{}
}

// defaultText says what a user gets without writing the field.
func (r *reference) defaultText(m member, scopes []scope) string {
	switch {
	case m.optional:
		return "optional"
	case r.decls.fromKey(scopes, m.label):
		return "the entry's name"
	}
	if d, _ := m.v.Default(); isSimple(d) && d.Validate(cue.Concrete(true)) == nil {
		return code(fmt.Sprint(d))
	}
	if m.v.Validate(cue.Concrete(true)) != nil {
		return "**required**"
	}
	return "—"
}

// byKind splits the fields of v when v is discriminated by a kind field
// with several possible values: the fields every kind has, as v declares
// them, and for each kind those it adds or makes required.
func byKind(v cue.Value) (common []member, kinds []string, variants [][]member) {
	all := members(v)
	kindPath := cue.MakePath(cue.Str("kind"))
	kinds = alternatives(v.LookupPath(kindPath))
	if len(kinds) < 2 {
		return all, nil, nil
	}
	count := map[string]int{}
	for _, k := range kinds {
		ms := members(v.FillPath(kindPath, k))
		variants = append(variants, ms)
		for _, m := range ms {
			count[m.label]++
		}
	}
	optional := map[string]bool{}
	for _, m := range all {
		if count[m.label] == len(kinds) {
			common = append(common, m)
			optional[m.label] = m.optional
		}
	}
	for i, ms := range variants {
		var own []member
		for _, m := range ms {
			if opt, isCommon := optional[m.label]; !isCommon || opt != m.optional {
				own = append(own, m)
			}
		}
		variants[i] = own
	}
	return common, kinds, variants
}

// members are the regular fields of v, optional ones included, in order.
func members(v cue.Value) []member {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var out []member
	for it.Next() {
		if sel := it.Selector(); sel.IsString() {
			out = append(out, member{label: sel.Unquoted(), optional: it.IsOptional(), v: it.Value()})
		}
	}
	return out
}

// alternatives are the strings a disjunction of string literals allows.
func alternatives(v cue.Value) []string {
	op, args := v.Expr()
	if op != cue.OrOp {
		return nil
	}
	var out []string
	for _, a := range args {
		s, err := a.String()
		if err != nil {
			return nil
		}
		out = append(out, s)
	}
	return out
}

// hasFields reports whether v is a struct with fields of its own (or, for
// a struct discriminated by kind, one whose kinds add some).
func hasFields(v cue.Value) bool {
	return v.Exists() && isStruct(v) && len(members(v)) > 0
}

// isStruct reports whether v can only be a struct. A struct whose fields
// depend on a kind not chosen yet evaluates to an incomplete value that
// still has fields.
func isStruct(v cue.Value) bool {
	k := v.IncompleteKind()
	if k == cue.StructKind {
		return true
	}
	_, err := v.Fields(cue.Optional(true))
	return k == cue.BottomKind && err == nil
}

// isSimple reports whether a default is worth a table cell: a scalar, or
// an empty list or struct.
func isSimple(v cue.Value) bool {
	switch v.Kind() {
	case cue.StructKind:
		return len(members(v)) == 0
	case cue.ListKind:
		n, err := v.Len().Int64()
		return err == nil && n == 0
	}
	return true
}

// typeText writes a declared value as its type: the schema's own text,
// without the default, which has a column of its own. A default among
// plain alternatives ("blueGreen" | "canary") stays, unmarked.
func typeText(expr ast.Expr) string {
	disjuncts := disjunction(expr)
	if len(disjuncts) < 2 {
		return nodeText(expr)
	}
	literals := true
	for _, d := range disjuncts {
		if u, ok := d.(*ast.UnaryExpr); ok && u.Op == token.MUL {
			d = u.X
		}
		if _, ok := d.(*ast.BasicLit); !ok {
			literals = false
		}
	}
	var parts []string
	for _, d := range disjuncts {
		if u, ok := d.(*ast.UnaryExpr); ok && u.Op == token.MUL {
			if !literals {
				continue
			}
			d = u.X
		}
		parts = append(parts, nodeText(d))
	}
	return strings.Join(parts, " | ")
}

// disjunction flattens a | b | c.
func disjunction(expr ast.Expr) []ast.Expr {
	if b, ok := expr.(*ast.BinaryExpr); ok && b.Op == token.OR {
		return append(disjunction(b.X), disjunction(b.Y)...)
	}
	return []ast.Expr{expr}
}

// nodeText formats a piece of the schema on one line.
func nodeText(n ast.Node) string {
	b, err := format.Node(n)
	if err != nil {
		return fmt.Sprintf("%v", n)
	}
	return oneLine(string(b))
}

var newlines = regexp.MustCompile(`\s*\n\s*`)

// oneLine joins lines with a space; a CUE string literal holds no newline.
func oneLine(s string) string {
	return strings.TrimSpace(newlines.ReplaceAllString(s, " "))
}

// docText is the doc comment of a declaration, as one paragraph.
func docText(n ast.Node) string {
	if n == nil {
		return ""
	}
	var parts []string
	for _, cg := range ast.Comments(n) {
		if cg.Doc {
			parts = append(parts, oneLine(cg.Text()))
		}
	}
	return strings.Join(parts, " ")
}

// join appends a field to a path.
func join(path, label string) string {
	if path == "" {
		return label
	}
	return path + "." + label
}

var notSlug = regexp.MustCompile(`[^a-z0-9]+`)

// anchor is the HTML id of a section.
func anchor(path string) string {
	if path == "" {
		return "top-level"
	}
	return strings.Trim(notSlug.ReplaceAllString(strings.ToLower(path), "-"), "-")
}

// code writes s as a code span that survives a Markdown table.
func code(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + strings.ReplaceAll(s, "|", `\|`) + pad + fence
}

var markdown = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "<", "&lt;", ">", "&gt;", "|", `\|`)

// escape makes prose from the schema safe in Markdown and in a table cell.
func escape(s string) string { return markdown.Replace(s) }

func (s *section) write(b *bytes.Buffer) {
	title := "Top level: `#DesiredState`"
	if s.path != "" {
		title = code(s.path)
	}
	fmt.Fprintf(b, "<a id=\"%s\"></a>\n\n### %s\n\n", anchor(s.path), title)
	for _, p := range s.intro {
		fmt.Fprintf(b, "%s\n\n", escape(p))
	}
	writeTable(b, s.rows)
	for _, k := range s.kinds {
		fmt.Fprintf(b, "With %s", code(fmt.Sprintf("kind: %q", k.kind)))
		if len(k.rows) == 0 {
			b.WriteString(": no other field.\n\n")
			continue
		}
		b.WriteString(", also:\n\n")
		for _, p := range k.intro {
			fmt.Fprintf(b, "%s\n\n", escape(p))
		}
		writeTable(b, k.rows)
	}
}

func writeTable(b *bytes.Buffer, rows []row) {
	if len(rows) == 0 {
		return
	}
	b.WriteString("| Field | Type | Default | Description |\n| --- | --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", r.field, r.typ, r.dflt, r.doc)
	}
	b.WriteString("\n")
}

func (r *reference) writeIntro(b *bytes.Buffer, f *ast.File) {
	fmt.Fprintf(b, "<!-- Generated from schema/durable.cue and adapters/*/settings/settings.cue by `durable schema doc`: do not edit.\n     Regenerate with: %s -->\n\n", ReferenceCommand)
	b.WriteString("# Desired-state schema\n\n")
	for _, d := range f.Decls {
		if p, ok := d.(*ast.Package); ok {
			for _, cg := range ast.Comments(p) {
				for _, para := range strings.Split(strings.TrimSpace(cg.Text()), "\n\n") {
					fmt.Fprintf(b, "%s\n\n", escape(oneLine(para)))
				}
			}
		}
	}
	b.WriteString(`## Files

A desired-state repository holds its desired state at its root: .cue files (one
package, of any name) and .yaml, .yml or .json files (one document each, whose top
level is a mapping of the fields below), in any mix. Each file is unified with
` + "`#DesiredState`" + `, so a field may be set in several files as long as the values
agree. Sub-directories and names starting with "." or "_" are ignored, except the
folders the CUE package imports as its own packages (through the module path that
cue.mod/module.cue declares) and the SOPS files secrets name.

Every problem is reported in one run, in file, line and column order, as
file:line:col: path: message; ` + "`durable validate -o json`" + ` gives the same as data.
A repository is bounded: at most 1000 files of desired state, 1 MiB each and 4 MiB
in all, and ` + "`durable run`" + ` evaluates each revision in a child process stopped after
30 s (` + "`--evaluation-timeout`" + `) or 8 GiB of address space; ` + "`durable validate`" + ` gives up
after 30 s (` + "`--timeout`" + `). A symbolic link out of the
repository is refused, and so is an import from a module cue.mod requires from a
registry: Durable fetches nothing.

In the tables below, **Type** is the constraint as the schema writes it, **Default**
is what a field is when it is not written (or whether it must be written), and *If
rejected* is the advice Durable prints with the error. A name in angle brackets
stands for any key of a map (a service's name, a target's name).

## Checking a repository with cue vet

` + "`durable validate DIR`" + ` is the reference check. To check a repository with the cue
tool as well (v0.17 or later), or to have an editor do it, export the schema as a
CUE module into the repository:

` + "```" + `
durable schema export ` + exampleExportDir + `
` + "```" + `

writes the module ` + ModulePath + ` into ` + exampleExportDir + `/. Then make the
repository a module of its own that depends on it, the dependency pointing at that
directory:

` + "```cue" + `
// cue.mod/module.cue
` + exampleModuleFile + `
// cue.mod/local-module.cue
` + exampleLocalModuleFile + "```" + `

and check its package from a sub-directory, which Durable ignores, say
check/check.cue (infra being the package name of the repository's .cue files):

` + "```cue\n" + exampleCheckFile + "```" + `

Run ` + "`cue vet -c ./check`" + `. A repository whose desired state is one YAML file
needs no check package, only the two cue.mod files above:
` + "`cue vet -c -d '#DesiredState' durable.dev/schema durable.yaml`" + `. Without a
cue.mod, name the exported directory instead of the module:
` + "`cue vet -c -d '#DesiredState' ./" + exampleExportDir + " durable.yaml`" + `
(cue vet checks each YAML file on its own, not their unification as Durable does).
Export again after upgrading Durable.

cue vet checks what the schema says, not the checks Durable adds in Go: that
dependsOn names declared services and has no cycle, that canary weights rise,
that each secret names one source, and that stages name declared targets.
Run durable validate for those.

## Fields

`)
}

// writeNamedTypes documents the definitions that are not structs: the
// named constraints fields refer to.
func (r *reference) writeNamedTypes(b *bytes.Buffer, f *ast.File) {
	b.WriteString("## Named types\n\n")
	for _, d := range f.Decls {
		field, ok := d.(*ast.Field)
		if !ok || definitionName(field) == "" {
			continue
		}
		if _, isStruct := field.Value.(*ast.StructLit); isStruct {
			continue
		}
		name := definitionName(field)
		fmt.Fprintf(b, "<a id=\"%s\"></a>\n\n### %s\n\n", anchor(name), code(name))
		if doc := docText(field); doc != "" {
			fmt.Fprintf(b, "%s\n\n", escape(doc))
		}
		fmt.Fprintf(b, "```cue\n%s: %s\n```\n\n", name, nodeText(field.Value))
	}
}
