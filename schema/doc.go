// Package schema turns one revision of a desired-state repository into a
// typed DesiredState, or into every problem it has, positioned in the user's
// files.
//
// It holds the CUE schema (durable.cue, embedded; defaults live there and not
// in Go; each adapter's settings are their own definition), the Go types the
// schema decodes into, and the loader. The loader reads the .cue, YAML and
// JSON files at the root of a tree and the repository's own CUE packages in
// folders (imported through the module path cue.mod/module.cue declares),
// unifies them with #DesiredState, and checks what CUE cannot (dependsOn and
// its cycles, stage targets, rising canary weights, one source per secret,
// the SOPS files secrets name). There is one evaluation, valid repository or
// not (load.go), and it explains every problem it finds (explain.go,
// fields.go): a second, quicker evaluation for valid repositories was not
// quicker by enough to be worth two paths that must agree (issue 12).
//
// It must never run anything, reach the network, or read outside the tree it
// is given: a repository is untrusted input, bounded in file count and size,
// and every mistake in it is reported as an Error a person can act on, never
// as a panic or a Go stack trace. Isolation evaluates a revision in a child
// process bounded in time and memory, for callers that must outlive a
// hostile one (the reconciler).
//
// Diff classifies the change between two desired states for the policies.
package schema
