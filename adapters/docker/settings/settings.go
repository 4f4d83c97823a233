// Package settings holds the Docker runtime's settings as a target of the
// desired state writes them: their CUE definition (settings.cue, part of
// Durable's schema) and the Go type the adapter decodes them into. The two
// are one definition in two languages, kept equal by a test in package
// schema. It imports nothing, so that the schema can compose it without
// the adapter, and holds no behaviour.
package settings

import _ "embed"

// CUE is the text of settings.cue: Definition, in package durable, which
// the schema composes with its own files and embeds in #Runtime for kind
// "docker".
//
//go:embed settings.cue
var CUE string

// Definition is the name of the CUE definition in CUE.
const Definition = "#DockerRuntime"

// Docker is what a target's runtime: {kind: "docker", ...} configures.
type Docker struct {
	// Host names the engine in the operator's host file (docker:); empty
	// is the reconciler's own engine (DOCKER_HOST or the default).
	Host string `json:"host,omitempty"`
	// Network is the network containers join (the engine's default bridge
	// when empty).
	Network string `json:"network,omitempty"`
	// Owner tells this reconciler's containers from any other's on the same
	// engine ("durable" when empty).
	Owner string `json:"owner,omitempty"`
	// Labels are added to every container.
	Labels map[string]string `json:"labels,omitempty"`
}
