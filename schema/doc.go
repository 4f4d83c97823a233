// Package schema turns one revision of a desired-state repository into a
// typed DesiredState, or into errors positioned in the user's files.
//
// It holds the CUE schema (durable.cue, embedded; defaults live there and not
// in Go), the Go types the schema decodes into, and the loader that reads the
// .cue files at the root of a tree, unifies them with #DesiredState and checks
// what CUE cannot (every stage names declared targets, stage names are unique,
// a target serves at most one stage).
//
// It must never run anything, reach the network, or read outside the tree it
// is given: a repository is untrusted input, bounded in file count and size,
// and every mistake in it is reported as an Error a person can act on, never
// as a panic or a Go stack trace.
package schema
