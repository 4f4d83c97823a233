package exec

import (
	"context"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// Traffic is a traffic adapter implemented by an executable.
type Traffic struct {
	c      transport
	listed *lastListing[[]adapters.Split]
}

func newTraffic(c transport) *Traffic { return &Traffic{c: c, listed: newListedSplits()} }

var (
	_ adapters.Traffic     = (*Traffic)(nil)
	_ adapters.SplitLister = (*Traffic)(nil)
)

// NewTraffic returns a traffic adapter that runs command for each call.
func NewTraffic(command []string, timeout time.Duration) *Traffic {
	return newTraffic(oneShot{command: command, timeout: timeout})
}

// NewLongLivedTraffic returns a traffic adapter that keeps one process of
// command, named name in errors, answering calls as JSON lines; Close
// stops it.
func NewLongLivedTraffic(name string, command []string, timeout time.Duration) *Traffic {
	return newTraffic(newLongLived(name, command, timeout))
}

// Close stops the long-lived process, if any.
func (t *Traffic) Close() error { return t.c.Close() }

// SetSplit asks the executable to apply the split atomically.
func (t *Traffic) SetSplit(ctx context.Context, split adapters.Split) error {
	return t.c.call(ctx, request{Op: "set-split", Split: &split}, nil)
}

// Split asks the executable for the split it applies.
func (t *Traffic) Split(ctx context.Context, service string) (adapters.Split, error) {
	var s adapters.Split
	return s, t.c.call(ctx, request{Op: "split", Service: service}, &s)
}

// Splits asks the executable for every split it applies. A program that
// does not know the call answers an error, invalid; the reconciler then
// asks split by split.
func (t *Traffic) Splits(ctx context.Context) ([]adapters.Split, error) {
	var all []adapters.Split
	if err := t.c.call(ctx, request{Op: "splits"}, t.listed.into(&all)); err != nil {
		return nil, err
	}
	return all, nil
}

// InFlight asks the executable how many requests a set still serves.
func (t *Traffic) InFlight(ctx context.Context, service, set string) (int, error) {
	var n int
	return n, t.c.call(ctx, request{Op: "in-flight", Service: service, Set: set}, &n)
}
