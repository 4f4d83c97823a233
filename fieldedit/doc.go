// Package fieldedit changes the desired state's source files by field path,
// at the places the fields are written: it sets a field of a service to a
// value, adds one, or removes one, in the .cue, .yaml, .yml and .json files
// at the root of a desired-state tree, and leaves every other byte of them
// as it was — comments, layout, the other services.
//
// Diff turns two JSON-shaped values (what a loader decoded at two
// revisions) into the field changes between them; Apply writes those
// changes into a tree. It edits text; it does not evaluate CUE. A field whose
// value is an expression rather than a literal, a YAML block scalar, an
// alias or anything else it cannot edit in place is refused with its
// position, so the caller can tell the person what to edit by hand. Callers
// load the edited tree to check the result (writeback's rollback does).
//
// Rollback (package writeback), `durable release` and the merge queue share
// it.
package fieldedit
