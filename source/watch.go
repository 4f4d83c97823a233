package source

import (
	"context"
	"math/rand/v2"
	"time"
)

// Watch fetches now, then every Interval (with jitter) and at once after
// Trigger, calling fn with each result until ctx is done. fn runs on the
// Watch goroutine, so a slow fn delays the next fetch; it receives every
// snapshot, changed or not (the caller dedups by commit). Watch returns when
// ctx is done, without calling fn for a fetch that ctx cut short.
func (s *Source) Watch(ctx context.Context, fn func(Snapshot, error)) {
	for {
		// A trigger that arrived before this fetch starts is answered by it.
		select {
		case <-s.trigger:
		default:
		}
		start := time.Now()
		snap, err := s.Fetch(ctx)
		if ctx.Err() != nil {
			return
		}
		if s.cfg.Fetched != nil {
			s.cfg.Fetched(time.Since(start), err)
		}
		fn(snap, err)

		timer := time.NewTimer(jitter(s.cfg.Interval, s.cfg.Jitter))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-s.trigger:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// Trigger asks Watch to fetch at once, e.g. on a webhook. It never blocks,
// and triggers that arrive while a fetch runs coalesce into one more fetch.
func (s *Source) Trigger() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// jitter returns d changed by a uniformly random amount within ±fraction×d,
// so that many reconcilers polling one server spread out.
func jitter(d time.Duration, fraction float64) time.Duration {
	return d + time.Duration((rand.Float64()*2-1)*fraction*float64(d))
}
