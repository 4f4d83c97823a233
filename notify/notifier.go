// Package notify tells people and programs what the reconciler did: it
// follows the journal (as a journal.Observer, through journal.Observed),
// turns the records that matter — a revision rejected, a rollout started,
// promoted, failed or rolled back, a hold, an approval awaited, a drift
// repaired, a dependency down — into events, and posts each to the sinks
// of the operator's notifications file (durable run --notify) that want
// it: signed JSON webhooks, Slack incoming webhooks, CloudEvents.
//
// It must never slow the reconciler: the observer's methods only queue.
// Each sink has a bounded queue, the oldest event dropped (and counted)
// when it is full, and one worker that posts with a timeout per request
// and retries with backoff. Delivery is best effort: an event may be
// dropped, or fail after its attempts, and the metrics (a
// prometheus.Collector) say so. It imports nothing of the project but the
// wire model (api) and hostfile, and reads only the operator's files.
package notify

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/durable-delivery/durable/api"
)

// Options tune a Notifier beyond its file.
type Options struct {
	// Logger logs failed deliveries (never a sink's URL or secret).
	Logger *slog.Logger
	// Drain is how long Run goes on delivering what is queued once its
	// context ended; default 5s.
	Drain time.Duration
}

// Notifier queues the events the journal's records mean to the sinks that
// want them, and delivers them while Run runs. Its observer methods are
// safe for concurrent use and never wait.
type Notifier struct {
	sinks []*sink
	log   *slog.Logger
	drain time.Duration

	driftMu sync.Mutex
	drift   driftTracker

	// mu orders publishing against the end of Run: after it, an event is
	// counted abandoned instead of queued.
	mu      sync.RWMutex
	stopped bool
}

// New is a Notifier for the sinks of c.
func New(c *Config, o Options) *Notifier {
	n := &Notifier{log: o.Logger, drain: o.Drain}
	if n.log == nil {
		n.log = slog.Default()
	}
	if n.drain <= 0 {
		n.drain = 5 * time.Second
	}
	client := &http.Client{
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		// A signed body is not sent on to another address.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for _, sc := range c.Sinks {
		n.sinks = append(n.sinks, &sink{cfg: sc, q: newQueue(sc.Queue), client: client, log: n.log})
	}
	return n
}

// Appended queues the event entry e means, if any (journal.Observer).
func (n *Notifier) Appended(e api.Entry) {
	if ev := entryEvent(e); ev != nil {
		n.publish(ev)
		return
	}
	n.driftMu.Lock()
	ev := n.drift.note(e)
	n.driftMu.Unlock()
	if ev != nil {
		n.publish(ev)
	}
}

// RolloutPut queues the events a rollout's change means, if any
// (journal.Observer).
func (n *Notifier) RolloutPut(before *api.Rollout, after api.Rollout) {
	n.publish(rolloutEvents(before, after)...)
}

// publish queues each event to the sinks that want it.
func (n *Notifier) publish(evs ...*Event) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, ev := range evs {
		prepared := false
		for _, s := range n.sinks {
			if !s.cfg.Events[ev.Type] {
				continue
			}
			if !prepared {
				ev.ID, ev.Summary, prepared = newID(), bounded(oneLine(ev.Summary)), true
			}
			if n.stopped {
				s.abandoned.Add(1)
				continue
			}
			s.enqueue(ev)
		}
	}
}

// Run delivers queued events until ctx ends, then goes on for at most the
// drain time with what is queued or in flight; what is left is abandoned.
func (n *Notifier) Run(ctx context.Context) {
	deliverCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range n.sinks {
		wg.Go(func() { s.run(deliverCtx, stop) })
	}
	<-ctx.Done()
	close(stop)
	deadline := time.AfterFunc(n.drain, cancel)
	defer deadline.Stop()
	wg.Wait()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopped = true
	for _, s := range n.sinks {
		s.abandonQueued()
	}
}
