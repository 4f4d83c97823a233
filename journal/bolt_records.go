package journal

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Bounds on what one record may hold. Ids are hashes, commits or short
// slash-joined names; a record is a desired state at most. Anything larger
// is a bug or hostile input, refused before it reaches the file.
const (
	maxIDBytes     = 1024
	maxRecordBytes = 16 << 20
)

// putRecord stores v as JSON under id in bucket.
func (b *Bolt) putRecord(ctx context.Context, bucket []byte, kind, id string, v any) error {
	data, err := encodeRecord(kind, id, v, maxRecordBytes)
	if err != nil {
		return err
	}
	c := &b.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	b.puts++
	err = b.update(ctx, func(tx *bolt.Tx) error {
		if kind == kindInfraSet || kind == kindRollout {
			if err := noteTransition(tx, kind, id, tx.Bucket(bucket).Get([]byte(id)), data); err != nil {
				return fmt.Errorf("record the transition: %w", err)
			}
		}
		return tx.Bucket(bucket).Put([]byte(id), data)
	})
	if err != nil {
		return fmt.Errorf("put %s %s: %w", kind, id, err)
	}
	c.note(bucket, id, data)
	return nil
}

// encodeRecord is v as JSON, refused when its id is empty or too long, or
// when it is over limit bytes.
func encodeRecord(kind, id string, v any, limit int) ([]byte, error) {
	if id == "" {
		return nil, fmt.Errorf("put %s: empty id", kind)
	}
	if len(id) > maxIDBytes {
		return nil, fmt.Errorf("put %s %.40q…: id is %d bytes, more than the %d allowed", kind, id, len(id), maxIDBytes)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("put %s %s: encode: %w", kind, id, err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("put %s %s: record is %d bytes, more than the %d allowed", kind, id, len(data), limit)
	}
	return data, nil
}

// getRecord decodes the record stored under id in bucket into v, or returns
// ErrNotFound wrapped with the id.
func (b *Bolt) getRecord(ctx context.Context, bucket []byte, kind, id string, v any) error {
	err := b.view(ctx, func(tx *bolt.Tx) error {
		data := tx.Bucket(bucket).Get([]byte(id))
		if data == nil {
			return ErrNotFound
		}
		// data is only valid inside the transaction; Unmarshal copies.
		return json.Unmarshal(data, v)
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", kind, id, err)
	}
	return nil
}

// listRecords decodes every record of bucket.
func listRecords[T any](ctx context.Context, b *Bolt, bucket []byte, kind string) ([]T, error) {
	var out []T
	err := b.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, data []byte) error {
			var v T
			if err := json.Unmarshal(data, &v); err != nil {
				return fmt.Errorf("decode %s %s: %w", kind, bytes.Clone(k), err)
			}
			out = append(out, v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", kind, err)
	}
	return out, nil
}

// PutRevision records a revision, keyed by its commit, its desired state
// compressed (storedRevision).
func (b *Bolt) PutRevision(ctx context.Context, r Revision) error {
	stored, err := packRevision(r)
	if err != nil {
		return fmt.Errorf("put revision %s: %w", r.Commit, err)
	}
	return b.putRecord(ctx, bucketRevisions, "revision", r.Commit, stored)
}

// Revision returns the revision of commit.
func (b *Bolt) Revision(ctx context.Context, commit string) (Revision, error) {
	var s storedRevision
	if err := b.getRecord(ctx, bucketRevisions, "revision", commit, &s); err != nil {
		return Revision{}, err
	}
	return s.unpack()
}

// Revisions lists revisions newest-seen first, at most limit (0: all). Only
// those returned have their desired state decompressed.
func (b *Bolt) Revisions(ctx context.Context, limit int) ([]Revision, error) {
	if limit < 0 {
		return nil, fmt.Errorf("list revisions: limit %d is negative; use 0 for all", limit)
	}
	stored, err := listRecords[storedRevision](ctx, b, bucketRevisions, "revision")
	if err != nil {
		return nil, err
	}
	return newestRevisions(stored, limit)
}

// newestRevisions sorts stored revisions newest-seen first (ties by
// commit), keeps at most limit (0: all) and unpacks those kept.
func newestRevisions(stored []storedRevision, limit int) ([]Revision, error) {
	slices.SortStableFunc(stored, func(a, b storedRevision) int {
		return cmp.Or(b.SeenAt.Compare(a.SeenAt), cmp.Compare(a.Commit, b.Commit))
	})
	if limit > 0 && len(stored) > limit {
		stored = stored[:limit]
	}
	revs := make([]Revision, len(stored))
	for i, s := range stored {
		var err error
		if revs[i], err = s.unpack(); err != nil {
			return nil, err
		}
	}
	return revs, nil
}

// PutRelease records a release, keyed by its id.
func (b *Bolt) PutRelease(ctx context.Context, r Release) error {
	return b.putRecord(ctx, bucketReleases, "release", r.ID, r)
}

// PutInfraSet records an infra-set, keyed by its id.
func (b *Bolt) PutInfraSet(ctx context.Context, s InfraSet) error {
	return b.putRecord(ctx, bucketInfraSets, kindInfraSet, s.ID, s)
}

// InfraSet returns the infra-set with id.
func (b *Bolt) InfraSet(ctx context.Context, id string) (InfraSet, error) {
	var s InfraSet
	err := b.getRecord(ctx, bucketInfraSets, "infra-set", id, &s)
	return s, err
}

// PutRollout records a rollout, keyed by its id.
func (b *Bolt) PutRollout(ctx context.Context, r Rollout) error {
	return b.putRecord(ctx, bucketRollouts, kindRollout, r.ID, r)
}

// Rollout returns the rollout with id.
func (b *Bolt) Rollout(ctx context.Context, id string) (Rollout, error) {
	var r Rollout
	err := b.getRecord(ctx, bucketRollouts, "rollout", id, &r)
	return r, err
}
