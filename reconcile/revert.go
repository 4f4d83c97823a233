package reconcile

import (
	"context"
	"fmt"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// reverter is what a source offers to push a revert commit.
type reverter interface {
	Revert(ctx context.Context, head, to, message string) (string, error)
}

// revertFailed pushes, when the host asks for it (Config.RevertOnFailure),
// a commit that puts back the tree of the newest accepted revision that
// declared the release still serving, so that Git shows what runs. It
// reverts once per failed revision, and only that revision: if the branch
// moved since, the newer commit wins and nothing is pushed.
func (r *Reconciler) revertFailed(ctx context.Context, ro journal.Rollout, reason string) {
	rv, ok := r.source.(reverter)
	if !r.cfg.RevertOnFailure || !ok || ro.FromRelease == "" {
		return
	}
	r.mu.Lock()
	head := r.revision // the newest accepted revision: what the branch says
	done := r.reverted[head.Commit]
	r.reverted[head.Commit] = true
	r.mu.Unlock()
	if done || head.Releases[ro.Service] != ro.Release {
		return // already reverted, or the branch no longer asks for the release
	}
	revs, err := r.store.Revisions(ctx, 0)
	if err != nil {
		r.log.Error("read journal", "err", err)
		return
	}
	var good *journal.Revision
	for i := range revs {
		if revs[i].Verdict == api.RevisionAccepted && revs[i].Commit != head.Commit && revs[i].Releases[ro.Service] == ro.FromRelease {
			good = &revs[i]
			break
		}
	}
	if good == nil {
		r.log.Warn("no earlier revision declares the serving release; nothing reverted", "service", ro.Service)
		return
	}
	msg := fmt.Sprintf("Revert to %s: release %s of %s failed in stage %s\n\n%s\n\nDurable-Reverts: %s\n", short(good.Commit), short(ro.Release), ro.Service, ro.Stage, reason, head.Commit)
	commit, err := rv.Revert(ctx, head.Commit, good.Commit, msg)
	e := journal.Entry{Kind: api.EntryEvent, Service: ro.Service, Stage: ro.Stage, Target: ro.Target, Release: ro.Release, Rollout: ro.ID}
	if err != nil {
		e.Message, e.Error = "revert commit not pushed", err.Error()
		r.log.Warn("push the revert commit", "err", err)
	} else {
		e.Message = fmt.Sprintf("pushed revert commit %s: the branch declares %s's tree again", short(commit), short(good.Commit))
		r.log.Info("revert commit pushed", "commit", short(commit), "to", short(good.Commit))
		r.source.Trigger()
	}
	r.journal(ctx, e)
}
