package schema

import (
	"context"
	"errors"
	"io/fs"
	"sync"
)

// Warm is an Isolation that keeps one child started ahead of need: a
// revision's evaluation does not wait for a new process's start-up (its
// runtime and package initialisation, tens of milliseconds for a binary that
// links CUE, OPA, sigstore and the SOPS library), which happens while the
// previous revision is applied. The spare child waits on its stdin, holding
// no revision; it ends when its parent does (its stdin closes) or on Close.
type Warm struct {
	iso Isolation

	mu     sync.Mutex
	spare  *child
	closed bool
}

// NewWarm is a Warm of iso; its first child starts on the first Load.
func NewWarm(iso Isolation) *Warm { return &Warm{iso: iso} }

// Load evaluates fsys as Isolation.Load does, in the spare child if there
// is one, and starts the next spare. A spare may have died while it
// waited (killed by an operator, say): when it fails otherwise than by a
// verdict on the revision (Errors: invalid, over a bound), the evaluation
// is run once more in a new child.
func (w *Warm) Load(ctx context.Context, fsys fs.FS) (*DesiredState, error) {
	c, spare, err := w.take()
	if err != nil {
		return nil, err
	}
	ds, err := c.load(ctx, fsys)
	var verdict Errors
	if !spare || err == nil || errors.As(err, &verdict) || ctx.Err() != nil {
		return ds, err
	}
	if c, err = w.iso.start(); err != nil {
		return nil, err
	}
	return c.load(ctx, fsys)
}

// take hands over the spare (or a new child) and starts the next spare.
func (w *Warm) take() (c *child, spare bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, w.spare = w.spare, nil
	if c == nil {
		if c, err = w.iso.start(); err != nil {
			return nil, false, err
		}
	} else {
		spare = true
	}
	if !w.closed {
		// A spare that does not start is no error of this load: the
		// next load starts its own child, and says why if it cannot.
		w.spare, _ = w.iso.start()
	}
	return c, spare, nil
}

// Close stops the spare child; Load then starts a child per evaluation.
func (w *Warm) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.spare != nil {
		w.spare.stop()
		w.spare = nil
	}
}
