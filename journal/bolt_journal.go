package journal

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/durable-delivery/durable/api"
)

// seqKey is the key of entry seq: big-endian, so that bbolt's byte order is
// Seq order and a cursor walks the journal oldest first.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// Append adds e to the journal, assigning Seq and, when zero, Time (now,
// UTC), and returns the stored entry.
//
// Invariant: an Append is durable when it returns, and Seqs are strictly
// increasing from 1 with no gaps. Both hold because the next Seq is read
// from the last key and the entry is written in the same bbolt write
// transaction (bbolt allows one writer at a time, so two Appends never read
// the same last key), and because that transaction's commit fsyncs the file
// before Update returns. A crash before the commit leaves the previous
// state, in which the entry and its Seq never existed.
func (b *Bolt) Append(ctx context.Context, e Entry) (Entry, error) {
	if err := checkEntryKind(e); err != nil {
		return Entry{}, err
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	err := b.update(ctx, func(tx *bolt.Tx) error {
		bucket := tx.Bucket(bucketEntries)
		e.Seq = 1
		if last, _ := bucket.Cursor().Last(); last != nil {
			if len(last) != 8 {
				return fmt.Errorf("journal's last key %x is not a sequence number: the file is damaged", last)
			}
			e.Seq = binary.BigEndian.Uint64(last) + 1
		}
		data, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		if len(data) > maxRecordBytes {
			return fmt.Errorf("entry is %d bytes, more than the %d allowed", len(data), maxRecordBytes)
		}
		return bucket.Put(seqKey(e.Seq), data)
	})
	if err != nil {
		return Entry{}, fmt.Errorf("append %s entry: %w", e.Kind, err)
	}
	return e, nil
}

// checkEntryKind refuses an entry without a kind.
func checkEntryKind(e Entry) error {
	if e.Kind == "" {
		return fmt.Errorf("append entry: empty kind; use one of %s, %s, %s, %s, %s",
			api.EntryRevision, api.EntryDecision, api.EntryIntent, api.EntryOutcome, api.EntryEvent)
	}
	return nil
}

// Entries returns entries with Seq > after, oldest first, at most limit
// (0: all).
func (b *Bolt) Entries(ctx context.Context, after uint64, limit int) ([]Entry, error) {
	if limit < 0 {
		return nil, fmt.Errorf("list entries: limit %d is negative; use 0 for all", limit)
	}
	if after == math.MaxUint64 {
		return nil, nil
	}
	var out []Entry
	err := b.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEntries).Cursor()
		scan := mappedScan{db: b.db, tx: tx}
		for k, data := c.Seek(seqKey(after + 1)); k != nil; k, data = c.Next() {
			if limit > 0 && len(out) == limit {
				return nil
			}
			var e Entry
			if err := json.Unmarshal(data, &e); err != nil {
				return fmt.Errorf("decode entry %x: %w", k, err)
			}
			scan.read(len(data)) // e holds copies of what it decoded
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list entries after %d: %w", after, err)
	}
	return out, nil
}
