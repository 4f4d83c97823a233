package reconcile

import (
	"context"
	"errors"
	"sync"

	"github.com/durable-delivery/durable/source"
)

// inbox holds the newest fetch result the loop has not taken yet. The source
// hands over every fetch, changed or not; the loop takes the newest before
// each pass, and a pass asks newer between placements so that a new
// revision preempts the rest of it.
type inbox struct {
	mu      sync.Mutex
	pending *snapshotResult
	ready   chan struct{}
	// handled is the commit last taken: a fetch of it again is no news.
	handled string
	// news is closed when a commit other than handled arrives (and made
	// again): a wait that a new revision should end selects on it.
	news chan struct{}
}

// arrived is closed once a commit other than the one last taken waits.
func (b *inbox) arrived() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.news == nil {
		b.news = make(chan struct{})
	}
	if b.pending != nil && b.pending.err == nil && b.pending.snap.Commit != b.handled {
		closed := make(chan struct{})
		close(closed)
		return closed
	}
	return b.news
}

type snapshotResult struct {
	snap source.Snapshot
	err  error
}

// wake is readable once a result is waiting.
func (b *inbox) wake() <-chan struct{} { return b.channel() }

func (b *inbox) channel() chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ready == nil {
		b.ready = make(chan struct{}, 1)
	}
	return b.ready
}

// put keeps only the newest result: a pass always works on the head.
func (b *inbox) put(res snapshotResult) {
	ready := b.channel()
	b.mu.Lock()
	b.pending = &res
	if res.err == nil && res.snap.Commit != b.handled && b.news != nil {
		close(b.news)
		b.news = nil
	}
	b.mu.Unlock()
	select {
	case ready <- struct{}{}:
	default:
	}
}

// take returns the waiting result, if any.
func (b *inbox) take() (snapshotResult, bool) {
	ready := b.wake()
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-ready:
	default:
	}
	if b.pending == nil {
		return snapshotResult{}, false
	}
	res := *b.pending
	b.pending = nil
	if res.err == nil {
		b.handled = res.snap.Commit
	}
	return res, true
}

// newer reports whether a commit other than the one last taken is waiting.
func (b *inbox) newer() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pending != nil && b.pending.err == nil && b.pending.snap.Commit != b.handled
}

// errNewerRevision ends a wait that a newer revision made moot.
var errNewerRevision = errors.New("a newer revision arrived")

// untilNewer is ctx, ended also once a commit other than the one last
// taken arrives: for the reads a pass may skip (a canary's queries), which
// must not hold a revert behind them.
func (r *Reconciler) untilNewer(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	arrived := r.inbox.arrived()
	go func() {
		select {
		case <-arrived:
			cancel(errNewerRevision)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}
