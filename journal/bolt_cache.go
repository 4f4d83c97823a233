package journal

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sync"
)

// recordCache keeps the infra-sets, rollouts and releases as decoded from
// the file, so that the reconciler's many reads of them per pass cost a copy
// instead of a transaction and a JSON decode each. It is coherent because
// nothing else writes the file while this Bolt has it open: a writer holds
// the file's exclusive lock, a read-only opener a shared one that keeps
// writers out (see OpenBolt). Every cached value is what decoding the stored
// bytes gives, so a cached read returns exactly what an uncached one would
// (TestCachedReadsAgreeWithTheFile generates the cases); callers get copies
// and cannot change it.
type recordCache struct {
	// mu is held for writing across a put's transaction and the cache's
	// update, and across a bucket's first read, so that the cache never
	// keeps what a concurrent put already replaced.
	mu       sync.RWMutex
	sets     cachedBucket[InfraSet]
	rollouts cachedBucket[Rollout]
	// releases holds each release read: a release's content never changes
	// under its id, but a put drops it all the same.
	releases map[string]Release
}

// cachedBucket is one bucket's records by id, loaded on first list, and
// the list sorted as the Store's methods return it (by order, a total
// order: ties are broken by id), kept sorted through puts; and the same
// list split by service, so that reading one service's records costs its
// records, not the fleet's.
type cachedBucket[T any] struct {
	byID    map[string]T
	sorted  []T
	bySvc   map[string][]T
	fresh   bool
	order   func(a, b T) int
	service func(T) string
}

// note caches a record just written, decoded from what was stored: the
// sorted lists have the old record taken out and the new one put in its
// place, instead of being sorted again, which was a third of the time of
// a fleet's first rollout.
func (c *cachedBucket[T]) note(id string, data []byte) {
	if c.byID == nil {
		return // not loaded: the first list reads the file
	}
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		c.byID, c.fresh = nil, false
		return
	}
	old, replaced := c.byID[id]
	c.byID[id] = v
	if !c.fresh {
		return
	}
	if replaced {
		group := c.bySvc[c.service(old)]
		if !c.remove(&c.sorted, old) || !c.remove(&group, old) {
			c.fresh = false
			return
		}
		c.bySvc[c.service(old)] = group
	}
	c.insert(&c.sorted, v)
	group := c.bySvc[c.service(v)]
	c.insert(&group, v)
	c.bySvc[c.service(v)] = group
}

// remove takes v out of a sorted list; false if it is not there.
func (c *cachedBucket[T]) remove(list *[]T, v T) bool {
	i, found := slices.BinarySearchFunc(*list, v, c.order)
	if found {
		*list = slices.Delete(*list, i, i+1)
	}
	return found
}

// insert puts v in its place in a sorted list.
func (c *cachedBucket[T]) insert(list *[]T, v T) {
	i, _ := slices.BinarySearchFunc(*list, v, c.order)
	*list = slices.Insert(*list, i, v)
}

// list is the bucket's records in order, read from the file the first time
// (with c's lock held for writing).
func (c *cachedBucket[T]) list(how bucketOf[T]) ([]T, error) {
	if c.byID == nil {
		all, err := how.read()
		if err != nil {
			return nil, err
		}
		c.byID = make(map[string]T, len(all))
		for _, v := range all {
			c.byID[how.id(v)] = v
		}
	}
	if !c.fresh {
		c.sorted = slices.SortedStableFunc(maps.Values(c.byID), how.order)
		c.bySvc = map[string][]T{}
		for _, v := range c.sorted {
			c.bySvc[how.service(v)] = append(c.bySvc[how.service(v)], v)
		}
		c.fresh, c.order, c.service = true, how.order, how.service
	}
	return c.sorted, nil
}

// pick is the list (service "") or one service's part of it; fresh.
func (c *cachedBucket[T]) pick(service string) []T {
	if service == "" {
		return c.sorted
	}
	return c.bySvc[service]
}

// note updates the cache after a put of data under id in bucket.
func (c *recordCache) note(bucket []byte, id string, data []byte) {
	switch string(bucket) {
	case string(bucketInfraSets):
		c.sets.note(id, data)
	case string(bucketRollouts):
		c.rollouts.note(id, data)
	case string(bucketReleases):
		delete(c.releases, id)
	}
}

// forget drops a record the retention removed from the cache.
func (c *recordCache) forget(bucket []byte, id string) {
	switch string(bucket) {
	case string(bucketInfraSets):
		c.sets.forget(id)
	case string(bucketRollouts):
		c.rollouts.forget(id)
	case string(bucketReleases):
		delete(c.releases, id)
	}
}

// forget takes a removed record out of the loaded bucket, and out of the
// sorted lists when they are fresh.
func (c *cachedBucket[T]) forget(id string) {
	old, ok := c.byID[id]
	if !ok {
		return
	}
	delete(c.byID, id)
	if !c.fresh {
		return
	}
	group := c.bySvc[c.service(old)]
	if !c.remove(&c.sorted, old) || !c.remove(&group, old) {
		c.fresh = false
		return
	}
	c.bySvc[c.service(old)] = group
}

func setOrder(a, b InfraSet) int {
	return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
}

func rolloutOrder(a, b Rollout) int {
	return cmp.Or(a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.ID, b.ID))
}

// InfraSets lists every infra-set ever recorded, ordered by CreatedAt.
func (b *Bolt) InfraSets(ctx context.Context) ([]InfraSet, error) {
	return listCached(ctx, &b.cache, &b.cache.sets, b.setsBucket(ctx), "")
}

// ServiceInfraSets lists one service's infra-sets in InfraSets' order.
func (b *Bolt) ServiceInfraSets(ctx context.Context, service string) ([]InfraSet, error) {
	return listCached(ctx, &b.cache, &b.cache.sets, b.setsBucket(ctx), service)
}

func (b *Bolt) setsBucket(ctx context.Context) bucketOf[InfraSet] {
	return bucketOf[InfraSet]{
		read:    func() ([]InfraSet, error) { return listRecords[InfraSet](ctx, b, bucketInfraSets, "infra-set") },
		id:      func(s InfraSet) string { return s.ID },
		service: func(s InfraSet) string { return s.Service },
		order:   setOrder,
		clone:   slices.Clone[[]InfraSet], // InfraSet refers to nothing
	}
}

// Rollouts lists rollouts ordered by StartedAt.
func (b *Bolt) Rollouts(ctx context.Context) ([]Rollout, error) {
	return listCached(ctx, &b.cache, &b.cache.rollouts, b.rolloutsBucket(ctx), "")
}

// ServiceRollouts lists one service's rollouts in Rollouts' order.
func (b *Bolt) ServiceRollouts(ctx context.Context, service string) ([]Rollout, error) {
	return listCached(ctx, &b.cache, &b.cache.rollouts, b.rolloutsBucket(ctx), service)
}

func (b *Bolt) rolloutsBucket(ctx context.Context) bucketOf[Rollout] {
	return bucketOf[Rollout]{
		read:    func() ([]Rollout, error) { return listRecords[Rollout](ctx, b, bucketRollouts, "rollout") },
		id:      func(r Rollout) string { return r.ID },
		service: func(r Rollout) string { return r.Service },
		order:   rolloutOrder,
		clone:   cloneRollouts,
	}
}

// bucketOf is how one record kind is read from the file, keyed, ordered
// and copied for a caller.
type bucketOf[T any] struct {
	read    func() ([]T, error)
	id      func(T) string
	service func(T) string
	order   func(a, b T) int
	clone   func([]T) []T
}

// listCached is a bucket's records in order (all of them, or one
// service's), as copies: from the cache when it is fresh, else read (the
// first time) and sorted under c's lock.
func listCached[T any](ctx context.Context, c *recordCache, cb *cachedBucket[T], how bucketOf[T], service string) ([]T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.RLock()
	if cb.fresh {
		defer c.mu.RUnlock()
		return how.clone(cb.pick(service)), nil
	}
	c.mu.RUnlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := cb.list(how); err != nil {
		return nil, err
	}
	return how.clone(cb.pick(service)), nil
}

// Release returns the release with id.
func (b *Bolt) Release(ctx context.Context, id string) (Release, error) {
	c := &b.cache
	c.mu.RLock()
	r, ok := c.releases[id]
	c.mu.RUnlock()
	if ok {
		return cloneRelease(r), ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := b.getRecord(ctx, bucketReleases, "release", id, &r); err != nil {
		return Release{}, err
	}
	if c.releases == nil {
		c.releases = map[string]Release{}
	}
	c.releases[id] = r
	return cloneRelease(r), nil
}

// cloneRollouts copies what each rollout refers to, so that a caller
// changing its copy changes nothing cached.
func cloneRollouts(rs []Rollout) []Rollout {
	if rs == nil {
		return nil
	}
	out := make([]Rollout, len(rs))
	for i, r := range rs {
		r.StepBase = maps.Clone(r.StepBase)
		if r.Verdict != nil {
			v := *r.Verdict
			v.Reasons = slices.Clone(v.Reasons)
			r.Verdict = &v
		}
		out[i] = r
	}
	return out
}

func cloneRelease(r Release) Release {
	r.Spec = slices.Clone(r.Spec)
	return r
}
