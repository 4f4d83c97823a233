package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/durable-delivery/durable/api"
)

// DefaultRetentionEvery is how often Retain compacts after its first run.
const DefaultRetentionEvery = time.Hour

// Retention says how long the journal keeps what is no longer needed.
type Retention struct {
	// Keep is the bound: what is older and no longer needed is compacted.
	// Zero keeps everything (Retain returns at once).
	Keep time.Duration
	// Every is the time between compactions (DefaultRetentionEvery if 0).
	Every time.Duration
	// Log receives a line per compaction and per failure.
	Log *slog.Logger
}

// compacter is a journal that compacts itself (Bolt, Etcd): Retain and
// CompactOlderThan are the same on each.
type compacter interface {
	Compact(ctx context.Context, cutoff time.Time) (Compaction, error)
	Append(ctx context.Context, e Entry) (Entry, error)
}

// Retain compacts the journal at once and then every r.Every until ctx
// ends. Each compaction that removed anything journals one event
// (api.ActionJournalCompacted) with its counts; a failed one is logged
// and tried again at the next tick.
func (b *Bolt) Retain(ctx context.Context, r Retention) { retain(ctx, b, r) }

// Retain compacts the journal at once and then every r.Every until ctx
// ends, as Bolt.Retain does.
func (s *Etcd) Retain(ctx context.Context, r Retention) { retain(ctx, s, r) }

// CompactOlderThan compacts what is older than keep and no longer needed,
// and journals the compaction's event when it removed anything.
func (b *Bolt) CompactOlderThan(ctx context.Context, keep time.Duration) (Compaction, error) {
	return compactOlderThan(ctx, b, keep)
}

// CompactOlderThan compacts what is older than keep and no longer needed,
// and journals the compaction's event when it removed anything.
func (s *Etcd) CompactOlderThan(ctx context.Context, keep time.Duration) (Compaction, error) {
	return compactOlderThan(ctx, s, keep)
}

func retain(ctx context.Context, j compacter, r Retention) {
	if r.Keep <= 0 {
		return
	}
	every := r.Every
	if every <= 0 {
		every = DefaultRetentionEvery
	}
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		done, err := compactOlderThan(ctx, j, r.Keep)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("journal retention: compaction failed; tried again at the next one", "err", err, "every", every)
		case done.Total() > 0:
			log.Info("journal compacted", "entries", done.Entries, "transitions", done.Transitions, "revisions", done.Revisions,
				"releases", done.Releases, "infraSets", done.InfraSets, "rollouts", done.Rollouts, "olderThan", r.Keep, "deferred", done.Deferred)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// compactTries is how many times a compaction deferred by a concurrent
// write is tried again at once: the window is a plan's time, milliseconds.
const compactTries = 3

func compactOlderThan(ctx context.Context, j compacter, keep time.Duration) (Compaction, error) {
	var done Compaction
	var err error
	for range compactTries {
		var more Compaction
		more, err = j.Compact(ctx, time.Now().Add(-keep))
		done = Compaction{Entries: done.Entries + more.Entries, Transitions: done.Transitions + more.Transitions,
			Revisions: done.Revisions + more.Revisions, Releases: done.Releases + more.Releases,
			InfraSets: done.InfraSets + more.InfraSets, Rollouts: done.Rollouts + more.Rollouts, Deferred: more.Deferred}
		if err != nil || !more.Deferred {
			break
		}
	}
	if done.Total() == 0 {
		return done, err
	}
	detail, _ := json.Marshal(done)
	msg := fmt.Sprintf("journal compacted: removed %d entries, %d transitions, %d revisions, %d releases, %d infra-sets and %d rollouts older than %s and no longer needed",
		done.Entries, done.Transitions, done.Revisions, done.Releases, done.InfraSets, done.Rollouts, keep)
	if done.Deferred {
		msg += "; records written meanwhile: the rest at the next compaction"
	}
	_, appendErr := j.Append(context.WithoutCancel(ctx), Entry{Kind: api.EntryEvent, Action: api.ActionJournalCompacted, Message: msg, Detail: detail})
	if err == nil && appendErr != nil {
		err = fmt.Errorf("journal the compaction: %w", appendErr)
	}
	return done, err
}
