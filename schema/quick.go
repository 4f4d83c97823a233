package schema

import (
	"bytes"
	"regexp"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/parser"
)

// quickEvaluate is the load of a valid repository in one evaluation: the
// schema's definitions join the user's package, whose root embeds
// #DesiredState, so that CUE closes and completes the user's values as it
// evaluates them rather than evaluating them alone and unifying them with the
// schema after. It returns nil on any problem at all (a user's definition
// a fault of Durable's included): the explained evaluation then runs and
// says what is wrong, as if this one had not been tried.
func quickEvaluate(files []*ast.File, pkgs *packages) (*DesiredState, bool) {
	schemaFile, err := schemaAsPart(files[0].PackageName())
	if err != nil {
		return nil, false
	}
	inst := pkgs.newBuild()
	for _, f := range append(files, schemaFile) {
		if err := inst.AddSyntax(f); err != nil {
			return nil, false
		}
	}
	if inst.Complete(); pkgs.errs != nil {
		return nil, false
	}
	v := cuecontext.New().BuildInstance(inst)
	if v.Validate(cue.Concrete(true)) != nil {
		return nil, false
	}
	sopsFiles, errs := pkgs.checkBeyondSchema(v, &explainer{files: map[string]bool{}, user: v})
	if errs != nil {
		return nil, false
	}
	b, err := v.MarshalJSON()
	if err != nil {
		return nil, false
	}
	ds, err := decodeJSON(b)
	if err != nil || attachSopsFiles(ds, fromMap(sopsFiles)) != nil {
		return nil, false
	}
	return ds, true
}

// schemaDefinitions is the schema's text without its package clause, its
// definitions renamed #_durable_<Name>: hidden definitions that no user's
// definition can shadow, extend or refer to. Read once.
var schemaDefinitions = sync.OnceValue(func() []byte {
	head, rest, _ := bytes.Cut(schemaSource, []byte("\npackage durable\n"))
	text := append(append(bytes.Clone(head), '\n'), rest...)
	return schemaDefinitionRef.ReplaceAll(text, []byte("#_durable_$1"))
})

// schemaDefinitionRef matches a reference to, or the declaration of, one of the
// schema's definitions.
var schemaDefinitionRef = regexp.MustCompile(`#([A-Z][A-Za-z0-9]*)\b`)

// schemaAsPart is the schema as a file of the user's package pkg ("" for a
// repository of YAML files alone), embedding #DesiredState at its root.
func schemaAsPart(pkg string) (*ast.File, error) {
	var src bytes.Buffer
	if pkg != "" {
		src.WriteString("package " + pkg + "\n")
	}
	src.Write(schemaDefinitions())
	src.WriteString("\n#_durable_DesiredState\n")
	f, err := parser.ParseFile(schemaFile, src.Bytes())
	if err != nil {
		return nil, err
	}
	return f, nil
}
