// Package settings holds the HAProxy traffic adapter's settings as a
// target of the desired state writes them: their CUE definition
// (settings.cue, part of Durable's schema) and the Go type the adapter
// decodes them into. The two are one definition in two languages, kept
// equal by a test in package schema. It imports nothing, so that the
// schema can compose it without the adapter, and holds no behaviour.
package settings

import _ "embed"

// CUE is the text of settings.cue: Definition, in package durable, which
// the schema composes with its own files and embeds in #Traffic for kind
// "haproxy".
//
//go:embed settings.cue
var CUE string

// Definition is the name of the CUE definition in CUE.
const Definition = "#HAProxyTraffic"

// HAProxy is what a target's traffic: {kind: "haproxy", ...} configures.
type HAProxy struct {
	// Socket names HAProxy's Runtime API socket (level admin) in the
	// operator's host file (haproxy:).
	Socket string `json:"socket"`
}
