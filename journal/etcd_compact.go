package journal

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdCompactBatch bounds the keys one compaction transaction deletes:
// etcd refuses a transaction of more than 128 operations by default
// (--max-txn-ops), and a batch of entries may also put and delete as many
// compacted ranges as it deletes entries.
const etcdCompactBatch = 40

// Compact removes what is older than cutoff and no longer needed (see
// retention.go), as Bolt.Compact does, in transactions of at most
// etcdCompactBatch keys. The records go only if none was put since the
// plan was read: each transaction is conditioned on every record key's
// mod revision being at most the plan's revision (a write may refer to a
// record again); otherwise the rest is left for the next compaction, and
// the result says Deferred. Entries go either way. With a fence, a
// deposed owner compacts nothing (ErrFenced).
//
// Then it compacts etcd's history up to the revision it read at
// (compactHistory), so that what it removed is gone from etcd too.
func (s *Etcd) Compact(ctx context.Context, cutoff time.Time) (Compaction, error) {
	var done Compaction
	s.compacting.Lock()
	defer s.compacting.Unlock()
	snap, rev, err := s.snapshot(ctx)
	if err != nil {
		return done, fmt.Errorf("compact the journal: %w", err)
	}
	plan := planRetention(snap, cutoff)
	if err := s.compactRecords(ctx, plan, rev, &done); err != nil {
		return done, fmt.Errorf("compact the journal: %w", err)
	}
	for batch := range slices.Chunk(plan.entries, etcdCompactBatch) {
		if err := s.deleteEntries(ctx, batch); err != nil {
			return done, fmt.Errorf("compact the journal's entries: %w", err)
		}
		done.Entries += len(batch)
	}
	return done, s.compactHistory(ctx, rev)
}

// compactHistory drops etcd's history up to rev, the revision the
// compaction read at. etcd 3.4 keeps every version of a key, deleted or
// overwritten, until it is compacted, and refuses writes past its quota
// (2 GiB by default): without this the journal's compaction would free
// nothing. It is etcd's compaction, of every key of the cluster, not only
// the journal's: the versions before rev of any key are gone (the newest of
// each stays), which a watcher of an older revision of another
// application would notice: give Durable an etcd of its own, or leave
// retention off (--journal-retention 0) and compact etcd yourself.
func (s *Etcd) compactHistory(ctx context.Context, rev int64) error {
	if rev <= 1 {
		return nil
	}
	_, err := s.kv.Compact(ctx, rev, clientv3.WithCompactPhysical())
	if err != nil && !errors.Is(err, rpctypes.ErrCompacted) { // compacted further already: nothing to do
		return fmt.Errorf("compact etcd's history to revision %d: %w", rev, err)
	}
	return nil
}

// snapshot reads, at one etcd revision, what a retention plan needs, and
// returns that revision.
func (s *Etcd) snapshot(ctx context.Context) (snapshot, int64, error) {
	var snap snapshot
	ctx, cancel := s.bound(ctx)
	defer cancel()
	head, err := s.kv.Get(ctx, s.entries.key)
	if err != nil {
		return snap, 0, err
	}
	rev := head.Header.Revision
	err = errors.Join(
		readDirAt(ctx, s, dirRevisions, rev, &snap.revisions),
		readDirAt(ctx, s, dirReleases, rev, &snap.releases),
		readDirAt(ctx, s, dirInfraSets, rev, &snap.sets),
		readDirAt(ctx, s, dirRollouts, rev, &snap.rollouts),
		readDirAt(ctx, s, dirEntries, rev, &snap.entries),
		readDirAt(ctx, s, dirTransitions, rev, &snap.transitions),
	)
	return snap, rev, err
}

// readDirAt sets out to the records under dir at rev, decoded as T.
func readDirAt[T any](ctx context.Context, s *Etcd, dir string, rev int64, out *[]T) error {
	var err error
	*out, err = listDirAt[T](ctx, s, dir, rev)
	return err
}

// compactRecords removes the plan's records and transitions, a batch a
// transaction, as long as no record was put after rev.
func (s *Etcd) compactRecords(ctx context.Context, plan retentionPlan, rev int64, done *Compaction) error {
	type key struct {
		name  string
		count *int
	}
	var keys []key
	for _, part := range []struct {
		dir   string
		ids   []string
		count *int
	}{
		{dirRollouts, plan.rollouts, &done.Rollouts},
		{dirInfraSets, plan.sets, &done.InfraSets},
		{dirReleases, plan.releases, &done.Releases},
		{dirRevisions, plan.revisions, &done.Revisions},
	} {
		for _, id := range part.ids {
			keys = append(keys, key{s.prefix + part.dir + id, part.count})
		}
	}
	for _, seq := range plan.transitions {
		keys = append(keys, key{s.prefix + dirTransitions + seqName(seq), &done.Transitions})
	}
	var unchanged []clientv3.Cmp
	for _, dir := range []string{dirRevisions, dirReleases, dirInfraSets, dirRollouts} {
		start := s.prefix + dir
		unchanged = append(unchanged, clientv3.Compare(clientv3.ModRevision(start), "<", rev+1).WithRange(clientv3.GetPrefixRangeEnd(start)))
	}
	for batch := range slices.Chunk(keys, etcdCompactBatch) {
		deletes := make([]clientv3.Op, len(batch))
		for i, k := range batch {
			deletes[i] = clientv3.OpDelete(k.name)
		}
		resp, err := s.boundedWrite(ctx, unchanged, deletes)
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			done.Deferred = true
			return nil
		}
		s.transitions.mu.Lock()
		for _, k := range batch {
			*k.count++
			delete(s.seen, k.name) // so that seen stays as small as the journal
		}
		s.transitions.mu.Unlock()
	}
	return nil
}

// boundedWrite is write under the request timeout (when ctx has no
// deadline), for one of the many transactions of a compaction.
func (s *Etcd) boundedWrite(ctx context.Context, cmps []clientv3.Cmp, ops []clientv3.Op) (*clientv3.TxnResponse, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.write(ctx, Write{Kind: WriteCompaction}, cmps, ops, nil)
}

// deleteEntries removes entries and, in the same transaction, records the
// ranges they leave, merged with the ranges next to them. The ranges are
// read first, and the transaction holds only if none changed since.
func (s *Etcd) deleteEntries(ctx context.Context, seqs []uint64) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	start := s.prefix + dirCompacted
	resp, err := s.kv.Get(ctx, start, clientv3.WithPrefix())
	if err != nil {
		return err
	}
	var old []SeqRange
	for _, kv := range resp.Kvs {
		var r SeqRange
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return fmt.Errorf("decode compacted range %s: %w", kv.Key[len(start):], err)
		}
		old = append(old, r)
	}
	var ops []clientv3.Op
	for _, seq := range seqs {
		ops = append(ops, clientv3.OpDelete(s.prefix+dirEntries+seqName(seq)))
	}
	merged := mergeRanges(old, seqs)
	for _, r := range old {
		if !slices.ContainsFunc(merged, func(m SeqRange) bool { return m.First == r.First }) {
			ops = append(ops, clientv3.OpDelete(start+seqName(r.First)))
		}
	}
	for _, r := range merged {
		if !slices.Contains(old, r) {
			data, err := json.Marshal(r)
			if err != nil {
				return err
			}
			ops = append(ops, clientv3.OpPut(start+seqName(r.First), string(data)))
		}
	}
	unchanged := clientv3.Compare(clientv3.ModRevision(start), "<", resp.Header.Revision+1).WithRange(clientv3.GetPrefixRangeEnd(start))
	done, err := s.write(ctx, Write{Kind: WriteCompaction}, []clientv3.Cmp{unchanged}, ops, nil)
	if err == nil && !done.Succeeded {
		err = fmt.Errorf("another compaction changed the compacted ranges meanwhile; compact again")
	}
	return err
}

// mergeRanges is ranges with each of seqs added, adjacent and overlapping
// ranges made one, in order.
func mergeRanges(ranges []SeqRange, seqs []uint64) []SeqRange {
	all := slices.Clone(ranges)
	for _, seq := range seqs {
		all = append(all, SeqRange{First: seq, Last: seq})
	}
	slices.SortFunc(all, func(a, b SeqRange) int { return cmp.Compare(a.First, b.First) })
	var out []SeqRange
	for _, r := range all {
		if n := len(out); n > 0 && r.First <= out[n-1].Last+1 {
			out[n-1].Last = max(out[n-1].Last, r.Last)
			continue
		}
		out = append(out, r)
	}
	return out
}
