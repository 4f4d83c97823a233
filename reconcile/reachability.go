package reconcile

import (
	"errors"
	"sync"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/journal"
)

// reachability remembers when each target could not be reached (its
// adapters answered adapters.ErrUnavailable: an agent cut off, a router
// down): a rollout there holds, and the time it held does not count
// against its progress deadline. The gate sees it (input.target) and
// decides, when the target is back, whether the hold became a failure.
type reachability struct {
	mu sync.Mutex
	// down is when each target now unreachable became so; past its spans
	// of unreachability that ended, the recent ones.
	down map[string]time.Time
	past map[string][]span
}

// span is a time a target was unreachable.
type span struct{ from, to time.Time }

// maxSpans bounds the spans kept per target: a rollout's step lasts far
// fewer outages.
const maxSpans = 64

// note records the outcome of converging a placement on target: err
// wrapping ErrUnavailable opens a span, anything else closes it.
func (r *reachability) note(target string, err error, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	since, isDown := r.down[target]
	switch {
	case errors.Is(err, adapters.ErrUnavailable) && !isDown:
		if r.down == nil {
			r.down = map[string]time.Time{}
		}
		r.down[target] = now
	case !errors.Is(err, adapters.ErrUnavailable) && isDown:
		delete(r.down, target)
		if r.past == nil {
			r.past = map[string][]span{}
		}
		spans := append(r.past[target], span{since, now})
		r.past[target] = spans[max(0, len(spans)-maxSpans):]
	}
}

// downtime is how long target was unreachable between from and to.
func (r *reachability) downtime(target string, from, to time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var d time.Duration
	add := func(s span) {
		start, end := maxTime(s.from, from), minTime(s.to, to)
		if end.After(start) {
			d += end.Sub(start)
		}
	}
	for _, s := range r.past[target] {
		add(s)
	}
	if since, ok := r.down[target]; ok {
		add(span{since, to})
	}
	return d
}

// live is how long since..now lasted with target reachable.
func (r *reachability) live(target string, since, now time.Time) time.Duration {
	return now.Sub(since) - r.downtime(target, since, now)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// stepStart is when a rollout's current step began: its canary step, or
// the rollout itself before the first.
func stepStart(rec *journal.Rollout) time.Time {
	if !rec.StepStartedAt.IsZero() {
		return rec.StepStartedAt
	}
	return rec.StartedAt
}
