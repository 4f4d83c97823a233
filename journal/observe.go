package journal

import (
	"context"
	"errors"
)

// Observer is told of the records the journal made durable, after each write
// returned: the metrics and the notifications follow the journal through it.
// Its methods are called on the writer's goroutine and must return at once
// (queue, count, never wait on the network).
type Observer interface {
	// Appended is called with each entry as Append returned it (Seq set).
	Appended(e Entry)
	// RolloutPut is called with a rollout as it was before the write (nil
	// when it is new) and as it is now.
	RolloutPut(before *Rollout, after Rollout)
}

// Observed returns st with every observer told of each entry appended and of
// each rollout put. A write that fails is not told. Reads and every other
// write are st's own.
func Observed(st Store, observers ...Observer) Store {
	if len(observers) == 0 {
		return st
	}
	return observedStore{Store: st, observers: observers}
}

type observedStore struct {
	Store
	observers []Observer
}

func (s observedStore) Append(ctx context.Context, e Entry) (Entry, error) {
	out, err := s.Store.Append(ctx, e)
	if err != nil {
		return out, err
	}
	for _, o := range s.observers {
		o.Appended(out)
	}
	return out, nil
}

func (s observedStore) PutRollout(ctx context.Context, r Rollout) error {
	var before *Rollout
	prev, err := s.Store.Rollout(ctx, r.ID)
	switch {
	case err == nil:
		before = &prev
	case !errors.Is(err, ErrNotFound):
		return err
	}
	if err := s.Store.PutRollout(ctx, r); err != nil {
		return err
	}
	for _, o := range s.observers {
		o.RolloutPut(before, r)
	}
	return nil
}
