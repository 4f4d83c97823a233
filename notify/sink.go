package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// sink is one receiver's queue and the worker that empties it.
type sink struct {
	cfg    Sink
	q      *queue
	client *http.Client
	log    *slog.Logger
	// Counters for the metrics: events delivered, failed (every attempt
	// failed, or the receiver refused it), abandoned (still queued or in
	// flight when the drain after shutdown ended), dropped (the oldest,
	// pushed out of a full queue); retries are attempts after the first.
	delivered, failed, abandoned, dropped, retries atomic.Uint64
}

// permanent is a receiver's answer that a retry would not change.
type permanent struct{ error }

// enqueue queues ev; it never waits.
func (s *sink) enqueue(ev *Event) {
	if s.q.push(ev) {
		s.dropped.Add(1)
	}
}

// run delivers the queue's events, one at a time, until stop is closed and
// the queue is empty, or until ctx ends; what is left then is abandoned.
func (s *sink) run(ctx context.Context, stop <-chan struct{}) {
	for {
		if ev := s.q.pop(); ev != nil {
			s.deliver(ctx, ev)
			continue
		}
		select {
		case <-s.q.ready:
		case <-stop:
			if s.q.len() == 0 {
				return
			}
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			s.abandonQueued()
			return
		}
	}
}

// abandonQueued counts what is queued as abandoned, and empties the queue.
func (s *sink) abandonQueued() {
	for s.q.pop() != nil {
		s.abandoned.Add(1)
	}
}

// deliver sends ev, retrying with a jittered exponential backoff what may
// succeed later (no answer, 408, 429, 5xx), at most cfg.Attempts times.
func (s *sink) deliver(ctx context.Context, ev *Event) {
	if ctx.Err() != nil {
		s.abandoned.Add(1)
		return
	}
	body, contentType, err := s.body(ev)
	if err != nil {
		s.failed.Add(1)
		s.log.Error("notification not encoded", "sink", s.cfg.Name, "event", ev.Type, "id", ev.ID, "err", err)
		return
	}
	wait := s.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := s.attempt(ctx, ev, body, contentType)
		if err == nil {
			s.delivered.Add(1)
			return
		}
		var perm permanent
		last := errors.As(err, &perm) || attempt >= s.cfg.Attempts
		if !last && sleep(ctx, jitter(wait)) {
			s.retries.Add(1)
			s.log.Debug("notification will be retried", "sink", s.cfg.Name, "event", ev.Type, "id", ev.ID, "attempt", attempt, "err", err)
			wait = min(2*wait, maxBackoff)
			continue
		}
		if ctx.Err() != nil {
			s.abandoned.Add(1)
			return
		}
		s.failed.Add(1)
		s.log.Warn("notification not delivered", "sink", s.cfg.Name, "kind", s.cfg.Kind, "event", ev.Type, "id", ev.ID, "attempts", attempt, "err", err)
		return
	}
}

// attempt sends body once, within the sink's timeout.
func (s *sink) attempt(ctx context.Context, ev *Event, body []byte, contentType string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := s.request(ctx, ev, body, contentType, time.Now())
	if err != nil {
		return permanent{scrub(err)}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return scrub(err)
	}
	defer resp.Body.Close()
	// Read a little, so that the connection may be used again; a receiver
	// that streams more is cut.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("the receiver answered %s", resp.Status)
	case code >= 300 && code < 400:
		return permanent{fmt.Errorf("the receiver answered %s (a redirect, not followed: the body is signed for this address); give the final address", resp.Status)}
	}
	return permanent{fmt.Errorf("the receiver answered %s, refusing the event; not retried", resp.Status)}
}

// scrub drops the URL from a client error: a Slack sink's URL is a secret,
// and must not reach the log.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// jitter is a wait between d/2 and d, so that sinks retrying together
// spread out.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// sleep waits d, or less if ctx ends; it reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
