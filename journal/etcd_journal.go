package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Append adds e to the journal, assigning Seq and, when zero, Time (now,
// UTC), and returns the stored entry.
//
// Invariant: Seqs are strictly increasing from 1 with no gaps, and an
// Append is durable when it returns. The entry and the entry counter are
// put in one transaction that holds only if the counter's mod revision is
// the one this store last saw: two writers that read the same counter
// cannot both commit, and the one that loses reads the counter again and
// tries the next Seq. etcd acknowledges a transaction once a quorum has
// it on disk; one that was not acknowledged either happened whole or not
// at all. An Append that failed for its deadline may therefore be there
// (as with any write to a remote store): the next one finds the counter
// moved and takes the Seq after it.
func (s *Etcd) Append(ctx context.Context, e Entry) (Entry, error) {
	if err := checkEntryKind(e); err != nil {
		return Entry{}, err
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	c := &s.entries
	c.mu.Lock()
	defer c.mu.Unlock()
	for range maxWriteTries {
		e.Seq = c.last + 1
		data, err := json.Marshal(e)
		if err != nil {
			return Entry{}, fmt.Errorf("append %s entry: encode: %w", e.Kind, err)
		}
		if len(data) > s.limit {
			return Entry{}, fmt.Errorf("append %s entry: entry is %d bytes, more than the %d allowed", e.Kind, len(data), s.limit)
		}
		cmp, put, read := c.next()
		w := Write{Kind: WriteEntry, Service: e.Service, Stage: e.Stage, Target: e.Target, Set: e.Set}
		resp, err := s.write(ctx, w, []clientv3.Cmp{cmp}, []clientv3.Op{put, clientv3.OpPut(s.prefix+dirEntries+seqName(e.Seq), string(data))}, []clientv3.Op{read})
		if err != nil {
			return Entry{}, fmt.Errorf("append %s entry: %w", e.Kind, err)
		}
		if resp.Succeeded {
			c.last, c.rev = e.Seq, resp.Header.Revision
			return e, nil
		}
		if err := c.saw(resp.Responses[0].GetResponseRange().Kvs); err != nil {
			return Entry{}, fmt.Errorf("append %s entry: %w", e.Kind, err)
		}
	}
	return Entry{}, fmt.Errorf("append %s entry: other writers took the next Seq %d times in a row; try again", e.Kind, maxWriteTries)
}

// Entries returns entries with Seq > after, oldest first, at most limit
// (0: all).
func (s *Etcd) Entries(ctx context.Context, after uint64, limit int) ([]Entry, error) {
	if limit < 0 {
		return nil, fmt.Errorf("list entries: limit %d is negative; use 0 for all", limit)
	}
	if after == math.MaxUint64 {
		return nil, ctx.Err()
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var out []Entry
	start := s.prefix + dirEntries
	err := s.scan(ctx, keyRange{From: start + seqName(after+1), End: clientv3.GetPrefixRangeEnd(start), Limit: limit}, func(kv *mvccpb.KeyValue) error {
		var e Entry
		if err := json.Unmarshal(kv.Value, &e); err != nil {
			return fmt.Errorf("decode entry %s: %w", kv.Key[len(start):], err)
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list entries after %d: %w", after, err)
	}
	return out, nil
}

// Compacted lists the ranges of entry Seqs the retention removed, in order.
func (s *Etcd) Compacted(ctx context.Context) ([]SeqRange, error) {
	return listDir[SeqRange](ctx, s, dirCompacted)
}
