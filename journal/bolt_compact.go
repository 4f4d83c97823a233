package journal

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketCompacted holds the ranges of entry Seqs the retention removed:
// key the first Seq, value the last (both big-endian), so that Check tells
// a compacted gap from a lost entry. A journal never compacted has none.
var bucketCompacted = []byte("compacted")

// compactBatch bounds the keys one compaction transaction deletes, so that
// the reconciler's writes never wait long behind it.
const compactBatch = 500

// SeqRange is a range of entry Seqs, both ends included.
type SeqRange struct {
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
}

// Compaction counts what one compaction removed.
type Compaction struct {
	Entries     int `json:"entries"`
	Transitions int `json:"transitions"`
	Revisions   int `json:"revisions"`
	Releases    int `json:"releases"`
	InfraSets   int `json:"infraSets"`
	Rollouts    int `json:"rollouts"`
	// Deferred is true when the records changed while the compaction ran:
	// what was left is for the next one.
	Deferred bool `json:"deferred,omitempty"`
}

// Total is the number of keys removed.
func (c Compaction) Total() int {
	return c.Entries + c.Transitions + c.Revisions + c.Releases + c.InfraSets + c.Rollouts
}

// Compact removes what is older than cutoff and no longer needed (see
// retention.go), in transactions of at most compactBatch keys. The records
// go only if none was written since the plan was made (a write may refer
// to one again); otherwise they are left for the next compaction, and the
// result says Deferred. Entries go either way: a new entry only ever cites
// newer ones or an intent kept for want of an outcome.
func (b *Bolt) Compact(ctx context.Context, cutoff time.Time) (Compaction, error) {
	var done Compaction
	b.cache.mu.RLock()
	puts := b.puts
	b.cache.mu.RUnlock()
	snap, err := b.snapshot(ctx)
	if err != nil {
		return done, fmt.Errorf("compact the journal: %w", err)
	}
	plan := planRetention(snap, cutoff)
	if err := b.compactRecords(ctx, plan, puts, &done); err != nil {
		return done, fmt.Errorf("compact the journal: %w", err)
	}
	for batch := range slices.Chunk(plan.entries, compactBatch) {
		if err := b.update(ctx, func(tx *bolt.Tx) error { return deleteEntries(tx, batch) }); err != nil {
			return done, fmt.Errorf("compact the journal's entries: %w", err)
		}
		done.Entries += len(batch)
	}
	return done, nil
}

// compactRecords removes the plan's records and transitions, a batch a
// transaction, as long as no record was put since the plan was read.
func (b *Bolt) compactRecords(ctx context.Context, plan retentionPlan, puts uint64, done *Compaction) error {
	type key struct {
		bucket []byte
		id     []byte
		count  *int
	}
	var keys []key
	for _, part := range []struct {
		bucket []byte
		ids    []string
		count  *int
	}{
		{bucketRollouts, plan.rollouts, &done.Rollouts},
		{bucketInfraSets, plan.sets, &done.InfraSets},
		{bucketReleases, plan.releases, &done.Releases},
		{bucketRevisions, plan.revisions, &done.Revisions},
	} {
		for _, id := range part.ids {
			keys = append(keys, key{part.bucket, []byte(id), part.count})
		}
	}
	for _, seq := range plan.transitions {
		keys = append(keys, key{bucketTransitions, seqKey(seq), &done.Transitions})
	}
	for batch := range slices.Chunk(keys, compactBatch) {
		deferred, err := b.whileUnchanged(ctx, puts, func(tx *bolt.Tx) error {
			for _, k := range batch {
				if err := tx.Bucket(k.bucket).Delete(k.id); err != nil {
					return fmt.Errorf("delete %s %s: %w", k.bucket, k.id, err)
				}
			}
			return nil
		}, func() {
			for _, k := range batch {
				b.cache.forget(k.bucket, string(k.id))
				*k.count++
			}
		})
		if err != nil || deferred {
			done.Deferred = deferred
			return err
		}
	}
	return nil
}

// whileUnchanged runs fn in a write transaction, and then forget, with the
// cache's lock held (as a put holds it), unless a record was put since
// puts was read: then it does nothing and reports deferred.
func (b *Bolt) whileUnchanged(ctx context.Context, puts uint64, fn func(*bolt.Tx) error, forget func()) (deferred bool, err error) {
	b.cache.mu.Lock()
	defer b.cache.mu.Unlock()
	if b.puts != puts {
		return true, nil
	}
	if err := b.update(ctx, fn); err != nil {
		return false, err
	}
	forget()
	return false, nil
}

// deleteEntries removes entries and records the ranges they leave, merged
// with the ranges next to them.
func deleteEntries(tx *bolt.Tx, seqs []uint64) error {
	entries := tx.Bucket(bucketEntries)
	ranges, err := tx.CreateBucketIfNotExists(bucketCompacted)
	if err != nil {
		return err
	}
	for _, seq := range seqs {
		if err := entries.Delete(seqKey(seq)); err != nil {
			return fmt.Errorf("delete entry #%d: %w", seq, err)
		}
		r := SeqRange{First: seq, Last: seq}
		// The range ending just before seq, if any, and the one starting
		// just after it are one range with it now.
		c := ranges.Cursor()
		if k, v := c.Seek(seqKey(seq)); k == nil {
			k, v = c.Last()
			if k != nil && binary.BigEndian.Uint64(v)+1 == seq {
				r.First = binary.BigEndian.Uint64(k)
			}
		} else if k, v = c.Prev(); k != nil && binary.BigEndian.Uint64(v)+1 == seq {
			r.First = binary.BigEndian.Uint64(k)
		}
		if v := ranges.Get(seqKey(seq + 1)); v != nil {
			r.Last = binary.BigEndian.Uint64(v)
			if err := ranges.Delete(seqKey(seq + 1)); err != nil {
				return err
			}
		}
		if err := ranges.Put(seqKey(r.First), seqKey(r.Last)); err != nil {
			return err
		}
	}
	return nil
}

// Compacted lists the ranges of entry Seqs the retention removed, in order.
func (b *Bolt) Compacted(ctx context.Context) ([]SeqRange, error) {
	var out []SeqRange
	err := b.view(ctx, func(tx *bolt.Tx) error {
		bucket := tx.Bucket(bucketCompacted)
		if bucket == nil {
			return nil
		}
		return bucket.ForEach(func(k, v []byte) error {
			if len(k) != 8 || len(v) != 8 {
				return fmt.Errorf("compacted range %x: %x is not a pair of sequence numbers: the file is damaged", k, v)
			}
			out = append(out, SeqRange{First: binary.BigEndian.Uint64(k), Last: binary.BigEndian.Uint64(v)})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list compacted ranges: %w", err)
	}
	return out, nil
}

// snapshot reads, in one read transaction, what a retention plan needs.
func (b *Bolt) snapshot(ctx context.Context) (snapshot, error) {
	var s snapshot
	err := b.view(ctx, func(tx *bolt.Tx) error {
		return errors.Join(
			decodeBucket(tx, bucketRevisions, &s.revisions),
			decodeBucket(tx, bucketReleases, &s.releases),
			decodeBucket(tx, bucketInfraSets, &s.sets),
			decodeBucket(tx, bucketRollouts, &s.rollouts),
			decodeBucket(tx, bucketEntries, &s.entries),
			decodeBucket(tx, bucketTransitions, &s.transitions),
		)
	})
	return s, err
}

// decodeBucket appends every record of bucket (if it exists), decoded as T.
func decodeBucket[T any](tx *bolt.Tx, name []byte, out *[]T) error {
	bucket := tx.Bucket(name)
	if bucket == nil {
		return nil
	}
	return bucket.ForEach(func(k, data []byte) error {
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return fmt.Errorf("decode %s %x: %w", name, k, err)
		}
		*out = append(*out, v)
		return nil
	})
}
