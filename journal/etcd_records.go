package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The directories under an etcd journal's prefix (see the layout in etcd.go).
const (
	dirRevisions   = "revisions/"
	dirReleases    = "releases/"
	dirInfraSets   = "infrasets/"
	dirRollouts    = "rollouts/"
	dirEntries     = "entries/"
	dirTransitions = "transitions/"
	dirCompacted   = "compacted/"
)

// dirKind names what each directory holds, for errors.
var dirKind = map[string]string{
	dirRevisions: "revision", dirReleases: "release", dirInfraSets: "infra-set", dirRollouts: "rollout",
	dirEntries: "entry", dirTransitions: "transition", dirCompacted: "compacted range",
}

// putRecord stores v as JSON under dir/id, with the transition it makes
// when it is an infra-set or a rollout, as write w.
func (s *Etcd) putRecord(ctx context.Context, w Write, dir, id string, v any) error {
	kind := string(w.Kind)
	data, err := encodeRecord(kind, id, v, s.limit)
	if err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	key := s.prefix + dir + id
	if kind == kindInfraSet || kind == kindRollout {
		err = s.putWithTransition(ctx, w, id, key, data)
	} else {
		_, err = s.write(ctx, w, nil, []clientv3.Op{clientv3.OpPut(key, string(data))}, nil)
	}
	if err != nil {
		return fmt.Errorf("put %s %s: %w", kind, id, err)
	}
	return nil
}

// putWithTransition stores data under key and, in the same transaction,
// the transition it makes, if any.
//
// Invariant: the transitions replay every change of the record, with
// gap-free Seqs. The transaction holds only if the record and the
// transition counter are as this store last saw them (their mod
// revisions), so a concurrent put of the same record, or a transition
// recorded by another process, makes it fail, and the put is tried again
// on what is there now. What this store saw of a record it wrote is kept
// (seen), so that a put is one request unless another process wrote.
func (s *Etcd) putWithTransition(ctx context.Context, w Write, id, key string, data []byte) error {
	kind := string(w.Kind)
	to, err := stateOf(kind, data)
	if err != nil {
		return fmt.Errorf("record the transition: %w", err)
	}
	c := &s.transitions
	c.mu.Lock()
	defer c.mu.Unlock()
	seen, ok := s.seen[key]
	if !ok {
		got, err := s.kv.Get(ctx, key)
		if err != nil {
			return err
		}
		if seen, err = seenOf(kind, got.Kvs); err != nil {
			return err
		}
	}
	for range maxWriteTries {
		cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", seen.rev)}
		puts := []clientv3.Op{clientv3.OpPut(key, string(data))}
		var t *Transition
		if seen.rev == 0 || seen.state != to {
			t = &Transition{Seq: c.last + 1, Time: time.Now().UTC(), Kind: kind, ID: id, From: seen.state, To: to}
			encoded, err := json.Marshal(t)
			if err != nil {
				return fmt.Errorf("record the transition: %w", err)
			}
			cmp, put, _ := c.next()
			cmps = append(cmps, cmp)
			puts = append(puts, put, clientv3.OpPut(s.prefix+dirTransitions+seqName(t.Seq), string(encoded)))
		}
		_, _, read := c.next()
		resp, err := s.write(ctx, w, cmps, puts, []clientv3.Op{clientv3.OpGet(key), read})
		if err != nil {
			return err
		}
		if resp.Succeeded {
			s.seen[key] = recordSeen{rev: resp.Header.Revision, state: to}
			if t != nil {
				c.last, c.rev = t.Seq, resp.Header.Revision
			}
			return nil
		}
		if seen, err = seenOf(kind, resp.Responses[0].GetResponseRange().Kvs); err != nil {
			return err
		}
		if err := c.saw(resp.Responses[1].GetResponseRange().Kvs); err != nil {
			return err
		}
	}
	return fmt.Errorf("other writers changed it or recorded transitions %d times in a row; try again", maxWriteTries)
}

// recordSeen is an infra-set's or a rollout's state as this store last
// read or wrote it, and its key's mod revision then (0: no such record).
type recordSeen struct {
	rev   int64
	state string
}

func seenOf(kind string, kvs []*mvccpb.KeyValue) (recordSeen, error) {
	if len(kvs) == 0 {
		return recordSeen{}, nil
	}
	state, err := stateOf(kind, kvs[0].Value)
	if err != nil {
		return recordSeen{}, fmt.Errorf("decode the stored %s: %w", kind, err)
	}
	return recordSeen{rev: kvs[0].ModRevision, state: state}, nil
}

// getRecord decodes the record stored under dir/id into v, or returns
// ErrNotFound wrapped with the id.
func (s *Etcd) getRecord(ctx context.Context, dir, kind, id string, v any) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	resp, err := s.kv.Get(ctx, s.prefix+dir+id)
	switch {
	case err != nil:
	case len(resp.Kvs) == 0:
		err = ErrNotFound
	default:
		err = json.Unmarshal(resp.Kvs[0].Value, v)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", kind, id, err)
	}
	return nil
}

// keyRange is what scan reads: the keys from From (included) to End
// (excluded), at most Limit (0: all), at revision Rev (0: now).
type keyRange struct {
	From, End string
	Limit     int
	Rev       int64
}

// scan calls each with the keys of r in order, a page a request, every
// page read at r.Rev, or (0) at the revision of the first, so that the
// whole list is one instant's.
func (s *Etcd) scan(ctx context.Context, r keyRange, each func(*mvccpb.KeyValue) error) error {
	for {
		page := etcdPage
		if r.Limit > 0 && r.Limit < page {
			page = r.Limit
		}
		opts := []clientv3.OpOption{clientv3.WithRange(r.End), clientv3.WithLimit(int64(page))}
		if r.Rev > 0 {
			opts = append(opts, clientv3.WithRev(r.Rev))
		}
		resp, err := s.kv.Get(ctx, r.From, opts...)
		if err != nil {
			return err
		}
		r.Rev = resp.Header.Revision
		for _, kv := range resp.Kvs {
			if err := each(kv); err != nil {
				return err
			}
		}
		if r.Limit > 0 {
			if r.Limit -= len(resp.Kvs); r.Limit <= 0 {
				return nil
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		r.From = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// listDir decodes every record under dir as T, in key order.
func listDir[T any](ctx context.Context, s *Etcd, dir string) ([]T, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return listDirAt[T](ctx, s, dir, 0)
}

// listDirAt decodes every record under dir as T, in key order, as it was
// at rev (0: now).
func listDirAt[T any](ctx context.Context, s *Etcd, dir string, rev int64) ([]T, error) {
	kind := dirKind[dir]
	var out []T
	start := s.prefix + dir
	err := s.scan(ctx, keyRange{From: start, End: clientv3.GetPrefixRangeEnd(start), Rev: rev}, func(kv *mvccpb.KeyValue) error {
		var v T
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			return fmt.Errorf("decode %s %s: %w", kind, kv.Key[len(start):], err)
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", kind, err)
	}
	return out, nil
}

// PutRevision records a revision, keyed by its commit, its desired state
// compressed as the bbolt journal does.
func (s *Etcd) PutRevision(ctx context.Context, r Revision) error {
	stored, err := packRevision(r)
	if err != nil {
		return fmt.Errorf("put revision %s: %w", r.Commit, err)
	}
	return s.putRecord(ctx, Write{Kind: WriteRevision}, dirRevisions, r.Commit, stored)
}

// Revision returns the revision of commit.
func (s *Etcd) Revision(ctx context.Context, commit string) (Revision, error) {
	var stored storedRevision
	if err := s.getRecord(ctx, dirRevisions, "revision", commit, &stored); err != nil {
		return Revision{}, err
	}
	return stored.unpack()
}

// Revisions lists revisions newest-seen first, at most limit (0: all).
func (s *Etcd) Revisions(ctx context.Context, limit int) ([]Revision, error) {
	if limit < 0 {
		return nil, fmt.Errorf("list revisions: limit %d is negative; use 0 for all", limit)
	}
	stored, err := listDir[storedRevision](ctx, s, dirRevisions)
	if err != nil {
		return nil, err
	}
	return newestRevisions(stored, limit)
}

// PutRelease records a release, keyed by its id.
func (s *Etcd) PutRelease(ctx context.Context, r Release) error {
	return s.putRecord(ctx, Write{Kind: WriteRelease, Service: r.Service}, dirReleases, r.ID, r)
}

// Release returns the release with id.
func (s *Etcd) Release(ctx context.Context, id string) (Release, error) {
	var r Release
	err := s.getRecord(ctx, dirReleases, "release", id, &r)
	return r, err
}

// PutInfraSet records an infra-set, keyed by its id, with its transition.
func (s *Etcd) PutInfraSet(ctx context.Context, set InfraSet) error {
	return s.putRecord(ctx, Write{Kind: WriteInfraSet, Service: set.Service, Stage: set.Stage, Target: set.Target, Set: set.ID}, dirInfraSets, set.ID, set)
}

// InfraSet returns the infra-set with id.
func (s *Etcd) InfraSet(ctx context.Context, id string) (InfraSet, error) {
	var set InfraSet
	err := s.getRecord(ctx, dirInfraSets, "infra-set", id, &set)
	return set, err
}

// InfraSets lists every infra-set ever recorded, ordered by CreatedAt.
func (s *Etcd) InfraSets(ctx context.Context) ([]InfraSet, error) {
	return s.ServiceInfraSets(ctx, "")
}

// ServiceInfraSets lists one service's infra-sets (all with service ""),
// ordered by CreatedAt.
func (s *Etcd) ServiceInfraSets(ctx context.Context, service string) ([]InfraSet, error) {
	sets, err := listDir[InfraSet](ctx, s, dirInfraSets)
	if err != nil {
		return nil, err
	}
	if service != "" {
		sets = slices.DeleteFunc(sets, func(set InfraSet) bool { return set.Service != service })
	}
	slices.SortStableFunc(sets, setOrder)
	return sets, nil
}

// PutRollout records a rollout, keyed by its id, with its transition.
func (s *Etcd) PutRollout(ctx context.Context, r Rollout) error {
	return s.putRecord(ctx, Write{Kind: WriteRollout, Service: r.Service, Stage: r.Stage, Target: r.Target, Set: r.Set}, dirRollouts, r.ID, r)
}

// Rollout returns the rollout with id.
func (s *Etcd) Rollout(ctx context.Context, id string) (Rollout, error) {
	var r Rollout
	err := s.getRecord(ctx, dirRollouts, "rollout", id, &r)
	return r, err
}

// Rollouts lists rollouts ordered by StartedAt.
func (s *Etcd) Rollouts(ctx context.Context) ([]Rollout, error) {
	return s.ServiceRollouts(ctx, "")
}

// ServiceRollouts lists one service's rollouts (all with service ""),
// ordered by StartedAt.
func (s *Etcd) ServiceRollouts(ctx context.Context, service string) ([]Rollout, error) {
	rs, err := listDir[Rollout](ctx, s, dirRollouts)
	if err != nil {
		return nil, err
	}
	if service != "" {
		rs = slices.DeleteFunc(rs, func(r Rollout) bool { return r.Service != service })
	}
	slices.SortStableFunc(rs, rolloutOrder)
	return rs, nil
}

// Transitions lists every recorded change of state, oldest first.
func (s *Etcd) Transitions(ctx context.Context) ([]Transition, error) {
	return listDir[Transition](ctx, s, dirTransitions)
}
