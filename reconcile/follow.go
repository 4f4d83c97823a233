package reconcile

import (
	"context"
	"errors"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// follow is handleSnapshot for a reconciler that takes revisions from the
// journal (Config.Follow): the one that takes revisions in — the leader,
// sharing the journal — judges each commit; this one waits for the
// verdict on the commit it fetched, and adopts the revision once the
// journal has it accepted. Until then it is awaited, asked again each
// pass (awaitVerdict).
func (r *Reconciler) follow(ctx context.Context, commit string) {
	rev, err := r.store.Revision(ctx, commit)
	if err != nil {
		if !errors.Is(err, journal.ErrNotFound) {
			r.log.Error("read journal", "err", err)
		}
		r.awaiting = commit
		return
	}
	r.awaiting = ""
	r.mu.Lock()
	current := r.revision.Commit
	r.mu.Unlock()
	if rev.Verdict != api.RevisionAccepted || rev.Commit == current {
		return
	}
	if err := r.adopt(ctx, rev); err != nil {
		r.log.Error("adopt the revision the leader accepted", "revision", short(commit), "err", err)
		return
	}
	r.log.Info("revision accepted by the leader", "revision", short(rev.Commit), "message", rev.Message)
}

// awaitVerdict asks the journal again for the verdict on the commit
// awaited, and reports whether it was adopted (or judged otherwise)
// meanwhile.
func (r *Reconciler) awaitVerdict(ctx context.Context) bool {
	if r.awaiting == "" {
		return false
	}
	r.follow(ctx, r.awaiting)
	return r.awaiting == ""
}
