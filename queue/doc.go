// Package queue is the merge queue of the desired-state repository: the
// FIFO flow of changes that the Durable Delivery practice starts with.
//
// A proposal is a branch of the repository, enqueued by `durable queue add`
// or by pushing it as queue/NAME. Each proposal is applied onto main plus
// every proposal ahead of it (a fast-forward, Git's own merge, or a merge by
// field path through fieldedit when Git's conflicts), and the result is
// checked as the reconciler checks a revision — commit signatures against
// the trust file, the one load path (reconcile.RevisionLoader), the policies'
// own tests, admission and plan (reconcile.Plan) — plus the operator's
// checks. What passes lands on main as the very commit that was checked;
// what fails is ejected with its reasons.
//
// Invariants, kept in store.go and runner.go:
//   - proposals land in the order they were added (their sequence number);
//     a proposal behind one still queued never lands first;
//   - before main moves, the proposal's record says landing with the
//     candidate commit and the main it moves from (the intent); main moves
//     only by a compare-and-swap from that commit; after, the record says
//     landed. A run that resumes a landing looks at main: it holds the
//     candidate (landed), is still where it was (land again) or moved
//     otherwise (validate again). So a queue killed at any instant loses no
//     proposal, lands none twice and none out of order.
//
// The queue never force-moves main, never rewrites a proposal's branch,
// and never lands a tree it did not validate.
package queue
