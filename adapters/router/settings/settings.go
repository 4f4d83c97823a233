// Package settings holds the router traffic adapter's settings as a target
// of the desired state writes them: their CUE definition (settings.cue,
// part of Durable's schema) and the Go type the adapter decodes them into.
// The two are one definition in two languages, kept equal by a test in
// package schema. It imports nothing, so that the schema can compose it
// without the adapter, and holds no behaviour.
package settings

import _ "embed"

// CUE is the text of settings.cue: Definition, in package durable, which
// the schema composes with its own files and embeds in #Traffic for kind
// "router".
//
//go:embed settings.cue
var CUE string

// Definition is the name of the CUE definition in CUE.
const Definition = "#RouterTraffic"

// Router is what a target's traffic: {kind: "router", ...} configures.
type Router struct {
	// Admin is the router's admin address, unix:///PATH or HOST:PORT.
	Admin string `json:"admin"`
}
