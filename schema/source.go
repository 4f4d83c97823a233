package schema

import (
	"bytes"
	_ "embed"
	"regexp"

	dockersettings "github.com/durable-delivery/durable/adapters/docker/settings"
	execsettings "github.com/durable-delivery/durable/adapters/exec/settings"
	haproxysettings "github.com/durable-delivery/durable/adapters/haproxy/settings"
	processsettings "github.com/durable-delivery/durable/adapters/process/settings"
	routersettings "github.com/durable-delivery/durable/adapters/router/settings"
)

//go:embed durable.cue
var durableSource []byte

// adapterSettings are the settings.cue files of the adapters, by the path
// of their Go package: each declares the definition #Runtime or #Traffic
// embeds for the adapter's kind.
var adapterSettings = []struct{ pkg, cue string }{
	{"adapters/process/settings", processsettings.CUE},
	{"adapters/docker/settings", dockersettings.CUE},
	{"adapters/exec/settings", execsettings.CUE},
	{"adapters/router/settings", routersettings.CUE},
	{"adapters/haproxy/settings", haproxysettings.CUE},
}

// schemaSource is the schema as one file of package durable: durable.cue,
// then the definitions of each adapter's settings.cue. Every use of the
// schema (the loader's two paths, the reference, the exported module)
// reads this text, so none can miss an adapter.
var schemaSource = composeSchema()

// schemaFile is the file name CUE positions inside the schema carry. It has a
// directory part, so it can never be confused with a file at the root of a
// desired-state repository.
const schemaFile = "durable-schema/durable.cue"

// settingsClause is what an adapter's settings.cue starts with: its own
// heading comment and the package clause, both left out of the composed
// schema.
var settingsClause = regexp.MustCompile(`(?s)\A.*?\bpackage durable\n`)

// composeSchema appends each adapter's definitions to durable.cue, under a
// comment naming the file they come from. The files are embedded in the
// binary: a settings.cue that does not compose (another package clause, an
// import) makes a schema that does not parse, which every test of the
// loader reports.
func composeSchema() []byte {
	src := bytes.Clone(durableSource)
	for _, a := range adapterSettings {
		src = append(src, "\n// From "+a.pkg+"/settings.cue.\n\n"...)
		src = append(src, settingsClause.ReplaceAllString(a.cue, "")...)
	}
	return src
}

// SchemaSource returns the text of the embedded CUE schema (package durable,
// entry point #DesiredState), the adapters' settings included. The caller
// owns the returned slice.
func SchemaSource() []byte {
	return bytes.Clone(schemaSource)
}
