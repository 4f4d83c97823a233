package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/durable-delivery/durable/internal/listener"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/reconcile"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/server"
	"github.com/durable-delivery/durable/signing"
	"github.com/durable-delivery/durable/source"
	"github.com/durable-delivery/durable/writeback"
)

// dashboardParts are what the dashboard reads and writes through.
type dashboardParts struct {
	rec *reconcile.Reconciler
	// view is what the dashboard shows of rec (with the merge queue under
	// durable run --queue); nil shows rec.
	view  server.Reconciler
	st    *journal.Bolt
	src   *source.Source
	load  writeback.Loader
	trust *signing.Trust
	// signs says the source signs the commits it writes (--commit-key).
	signs bool
}

// withDashboard serves the dashboard, and POST /v1/rollback (durable
// rollback, which commits as the dashboard's "roll back" does), beside the
// API h. Its writes are
// commits pushed with the source's access (as --revert-on-failure's); when
// the trust file wants signed commits and Durable has no key to sign its
// own (--commit-key), it offers none and shows the commands to run instead.
func withDashboard(ctx context.Context, log *slog.Logger, h http.Handler, p dashboardParts) http.Handler {
	var acts server.Actions = &dashboardActions{src: p.src, st: p.st, load: p.load, rec: p.rec}
	if p.trust != nil && p.trust.Commits.Mode != signing.CommitsOff && !p.signs {
		log.Info("the dashboard offers no approvals or rollbacks: the trust file wants signed commits, and Durable has no --commit-key to sign its own", "commits", p.trust.Commits.Mode)
		acts = nil
	}
	var view server.Reconciler = p.rec
	if p.view != nil {
		view = p.view
	}
	dash := server.NewDashboard(server.DashboardConfig{Reconciler: view, Journal: p.st, Actions: acts, Done: ctx.Done()})
	mux := http.NewServeMux()
	mux.Handle("POST /v1/rollback", server.RollbackHandler(p.rec, acts)) // durable rollback
	mux.Handle("/", h)
	return server.WithDashboard(mux, dash)
}

// dashboardAccess is the API's token policy on one listener, as the
// dashboard asks it.
type dashboardAccess struct{ p listener.Policy }

func (a dashboardAccess) Scope(token string) server.Scope {
	switch a.p.Tokens.Scope(token) {
	case listener.Write:
		return server.ScopeWrite
	case listener.Read:
		return server.ScopeRead
	}
	return server.ScopeNone
}

func (a dashboardAccess) Open() server.Scope {
	switch {
	case a.p.OpenWrites:
		return server.ScopeWrite
	case a.p.OpenReads:
		return server.ScopeRead
	}
	return server.ScopeNone
}

// dashboardActions writes the dashboard's commits on the followed branch,
// on top of the newest revision the journal saw, one at a time.
type dashboardActions struct {
	mu   sync.Mutex
	src  *source.Source
	st   *journal.Bolt
	load writeback.Loader
	rec  *reconcile.Reconciler
}

func (a *dashboardActions) Approve(ctx context.Context, stage, release, by, reason string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, head, err := a.head(ctx)
	if err != nil {
		return "", err
	}
	path, body, err := writeback.Approval(head.Files, stage, release, by, reason)
	if err != nil {
		return "", err
	}
	msg := fmt.Sprintf("Approve release %s for stage %s\n\nApproved by %s from the dashboard.\n", release[:12], stage, by)
	if reason != "" {
		msg += "\n" + reason + "\n"
	}
	return a.commit(ctx, head.Commit, map[string][]byte{path: body}, msg, nil)
}

func (a *dashboardActions) Rollback(ctx context.Context, service, stage, release string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	revs, head, err := a.head(ctx)
	if err != nil {
		return "", err
	}
	good, err := writeback.FindRevision(revs, service, release)
	if err != nil {
		return "", err
	}
	old, err := a.src.At(good.Commit)
	if err != nil {
		return "", err
	}
	edits, evaluated, err := writeback.Rollback(ctx, a.load, head.Files, old.Files, service)
	if err != nil {
		return "", fmt.Errorf("roll %s back to %s: %w", service, good.Commit[:12], err)
	}
	msg := fmt.Sprintf("Roll %s back to release %s\n\nFrom the dashboard: %s as revision %s declared it; a warm set of stage %s runs this release.\n\nDurable-Rollback: %s %s\n",
		service, release[:12], service, good.Commit[:12], stage, service, release)
	return a.commit(ctx, head.Commit, edits, msg, evaluated)
}

// head is the journal's revisions, newest first, and the newest one's tree:
// the branch as the reconciler last saw it.
func (a *dashboardActions) head(ctx context.Context) ([]journal.Revision, source.Snapshot, error) {
	revs, err := a.st.Revisions(ctx, 0)
	if err != nil {
		return nil, source.Snapshot{}, fmt.Errorf("read the journal's revisions: %w", err)
	}
	if len(revs) == 0 {
		return nil, source.Snapshot{}, errors.New("no revision seen yet")
	}
	snap, err := a.src.At(revs[0].Commit)
	return revs, snap, err
}

// commit pushes the files changed on head and has the reconciler fetch at
// once; evaluated, when known, is the desired state of the commit's tree,
// which the reconciler then need not evaluate again.
func (a *dashboardActions) commit(ctx context.Context, head string, files map[string][]byte, msg string, evaluated *schema.DesiredState) (string, error) {
	c, err := a.src.CommitFiles(ctx, head, files, msg)
	if errors.Is(err, source.ErrHeadMoved) {
		a.rec.Trigger()
		return "", fmt.Errorf("%w: the reconciler fetches the new head now; reload the page and try again", err)
	}
	if err != nil {
		return "", err
	}
	if snap, err := a.src.At(c); err == nil && evaluated != nil {
		a.rec.Evaluated(snap.Tree, evaluated)
	}
	a.rec.Trigger()
	return c, nil
}
