// Package settings holds the exec adapter's settings as a target of the
// desired state writes them, the same for a runtime and for a traffic
// adapter: their CUE definition (settings.cue, part of Durable's schema)
// and the Go type the adapter decodes them into. The two are one
// definition in two languages, kept equal by a test in package schema. It
// imports nothing, so that the schema can compose it without the adapter,
// and holds no behaviour.
package settings

import _ "embed"

// CUE is the text of settings.cue: Definition, in package durable, which
// the schema composes with its own files and embeds in #Runtime and in
// #Traffic for kind "exec".
//
//go:embed settings.cue
var CUE string

// Definition is the name of the CUE definition in CUE.
const Definition = "#ExecAdapter"

// Exec is what a target's runtime or traffic: {kind: "exec", ...}
// configures.
type Exec struct {
	// Plugin names the program in the operator's host file (plugins:),
	// never the program itself.
	Plugin string `json:"plugin"`
	// Timeout bounds one call, as a Go duration (the adapter's default
	// when empty).
	Timeout string `json:"timeout,omitempty"`
}
