package main

import (
	"context"
	"errors"

	"github.com/durable-delivery/durable/journal"
)

// fenceWatch is a leader's journal: the first write refused with
// journal.ErrFenced calls lost, which ends the term, so that a deposed
// leader stops at its first refused write instead of retrying it pass
// after pass. Reads pass through (they are not fenced).
type fenceWatch struct {
	journal.Store
	lost func()
}

func (f fenceWatch) check(err error) error {
	if errors.Is(err, journal.ErrFenced) {
		f.lost()
	}
	return err
}

func (f fenceWatch) PutRevision(ctx context.Context, r journal.Revision) error {
	return f.check(f.Store.PutRevision(ctx, r))
}

func (f fenceWatch) PutRelease(ctx context.Context, r journal.Release) error {
	return f.check(f.Store.PutRelease(ctx, r))
}

func (f fenceWatch) PutInfraSet(ctx context.Context, s journal.InfraSet) error {
	return f.check(f.Store.PutInfraSet(ctx, s))
}

func (f fenceWatch) PutRollout(ctx context.Context, r journal.Rollout) error {
	return f.check(f.Store.PutRollout(ctx, r))
}

func (f fenceWatch) Append(ctx context.Context, e journal.Entry) (journal.Entry, error) {
	e, err := f.Store.Append(ctx, e)
	return e, f.check(err)
}
