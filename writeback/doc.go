// Package writeback works out the commits Durable writes to the
// desired-state repository on a person's behalf — a rollback of one service
// to an earlier release, an approval of a release for a stage — as the files
// to change in the branch's head. The dashboard writes them; the CLI's
// rollback can share them.
//
// It reads trees and loads them through the caller's schema loader; it
// never pushes (the source does, with its own access), never acts on
// targets, and never changes a file that the change does not need: a
// rollback leaves every other service and the pipeline as the head has
// them, or is refused.
package writeback
