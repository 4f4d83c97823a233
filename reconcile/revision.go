package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/durable-delivery/durable/reconcile/source"
	"github.com/durable-delivery/durable/reconcile/store"
	"github.com/durable-delivery/durable/schema"
)

// handleSnapshot records a fetched revision once, with its verdict, and makes
// it the desired state when it loads. A fetch error or a rejected revision
// changes nothing that runs.
func (r *Reconciler) handleSnapshot(ctx context.Context, snap source.Snapshot, fetchErr error) {
	if fetchErr != nil {
		r.mu.Lock()
		first := r.sourceErr == nil
		r.sourceErr, r.sourceErrAt = fetchErr, time.Now()
		r.mu.Unlock()
		if first {
			r.log.Error("fetch desired-state repository; what runs is unchanged", "err", fetchErr)
			r.journal(ctx, store.Entry{Kind: store.EntryEvent, Message: "repository unreachable; what runs is unchanged", Error: fetchErr.Error()})
		}
		return
	}
	r.mu.Lock()
	r.sourceErr = nil
	r.mu.Unlock()

	if _, err := r.store.Revision(ctx, snap.Commit); err == nil {
		return // already seen and judged
	} else if !errors.Is(err, store.ErrNotFound) {
		r.log.Error("read journal", "err", err)
		return
	}

	rev := store.Revision{
		Commit:  snap.Commit,
		Tree:    snap.Tree,
		Branch:  r.source.Branch(),
		Message: firstLine(snap.Message),
		Author:  snap.Author,
		SeenAt:  time.Now().UTC(),
	}
	ds, err := schema.Load(snap.Files)
	if err != nil {
		rev.Verdict = store.RevisionRejected
		rev.Errors = errorLines(err)
		if err := r.store.PutRevision(ctx, rev); err != nil {
			r.log.Error("journal revision", "err", err)
			return
		}
		r.log.Warn("revision rejected; what runs is unchanged", "revision", short(rev.Commit), "errors", strings.Join(rev.Errors, "; "))
		r.journal(ctx, store.Entry{Kind: store.EntryRevision, Result: store.RevisionRejected,
			Message: fmt.Sprintf("revision %s rejected: %d error(s); what runs is unchanged", short(rev.Commit), len(rev.Errors)),
			Error:   strings.Join(rev.Errors, "\n")})
		return
	}

	rev.Verdict = store.RevisionAccepted
	rev.Releases = map[string]string{}
	for name, svc := range ds.Services {
		id := svc.ReleaseID()
		rev.Releases[name] = id
		spec, _ := json.Marshal(svc)
		if _, err := r.store.Release(ctx, id); errors.Is(err, store.ErrNotFound) {
			if err := r.store.PutRelease(ctx, store.Release{ID: id, Service: name, Artifact: svc.Artifact,
				Revision: snap.Commit, SeenAt: rev.SeenAt, Spec: spec}); err != nil {
				r.log.Error("journal release", "err", err)
				return
			}
		}
	}
	rev.DesiredState, _ = json.Marshal(ds)
	if err := r.store.PutRevision(ctx, rev); err != nil {
		r.log.Error("journal revision", "err", err)
		return
	}
	r.journal(ctx, store.Entry{Kind: store.EntryRevision, Result: store.RevisionAccepted,
		Message: fmt.Sprintf("revision %s accepted: %q", short(rev.Commit), rev.Message)})
	r.log.Info("revision accepted", "revision", short(rev.Commit), "message", rev.Message)

	r.mu.Lock()
	r.desired, r.revision = ds, rev
	r.mu.Unlock()
}

// errorLines turns a load error into one positioned line per problem.
func errorLines(err error) []string {
	var errs schema.Errors
	if errors.As(err, &errs) {
		out := make([]string, 0, len(errs))
		for _, e := range errs {
			out = append(out, e.String())
		}
		return out
	}
	return []string{err.Error()}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func short(commit string) string {
	if len(commit) > 10 {
		return commit[:10]
	}
	return commit
}
