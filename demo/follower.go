package demo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/server"
)

// follower prints the reconciler's journal as it grows: what it decided,
// did and why.
type follower struct {
	api *server.Client
	n   *harness.Narrator

	mu    sync.Mutex
	after uint64

	cancel context.CancelFunc
	done   chan struct{}
}

func startFollowing(ctx context.Context, api *server.Client, n *harness.Narrator) *follower {
	ctx, cancel := context.WithCancel(ctx)
	f := &follower{api: api, n: n, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for ctx.Err() == nil {
			f.catchUp(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return f
}

// catchUp prints every entry not printed yet.
func (f *follower) catchUp(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	entries, err := f.api.Journal(ctx, f.after, 200)
	if err != nil {
		return
	}
	for _, e := range entries {
		f.after = e.Seq
		if line := describe(e); line != "" {
			f.n.Say("journal #%d %s", e.Seq, line)
		}
	}
}

func (f *follower) stop() {
	f.cancel()
	<-f.done
}

// describe renders a journal entry as one line, or "" for entries a person
// following the story does not need (outcomes of successful actions).
func describe(e journal.Entry) string {
	switch e.Kind {
	case api.EntryDecision:
		return fmt.Sprintf("decision [%s] %s: %s", e.Policy, e.Result, e.Message)
	case api.EntryIntent:
		return fmt.Sprintf("intent %s", e.Action)
	case api.EntryOutcome:
		if e.Error != "" {
			return fmt.Sprintf("outcome %s FAILED: %s", e.Action, e.Error)
		}
		return fmt.Sprintf("outcome %s ok", e.Action)
	default:
		if e.Error != "" {
			return fmt.Sprintf("%s: %s", e.Message, e.Error)
		}
		return e.Message
	}
}
