package schema

import (
	"bytes"
	_ "embed"
)

//go:embed durable.cue
var schemaSource []byte

// schemaFile is the file name CUE positions inside the schema carry. It has a
// directory part, so it can never be confused with a file at the root of a
// desired-state repository.
const schemaFile = "durable-schema/durable.cue"

// SchemaSource returns the text of the embedded CUE schema (package durable,
// entry point #DesiredState). The caller owns the returned slice.
func SchemaSource() []byte {
	return bytes.Clone(schemaSource)
}
