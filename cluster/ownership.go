// Package cluster decides who acts among the reconcilers that share one
// etcd (durable run --etcd). Each reconciler is a member, registered on
// its own lease; the services are divided into a fixed number of shards
// (ShardOf); each shard is owned by one member at a time, through a lock
// held on that member's lease (concurrency.Mutex), and the members divide
// the shards evenly among them, taking over a departed member's shards and
// giving some up when one joins (fair.go). The owner of shard 0 also takes
// in the repository's revisions: it is the leader.
//
// An Ownership is what a member holds at one time: every write of its
// journal is conditioned on the lock of the shard it belongs to
// (Ownership.FenceFor), and the locks' create revisions are its fencing
// tokens at the agents. A member runs a term of the reconcile loop while
// its ownership stays the same, and a new one when it changes (member.go).
package cluster

import (
	"hash/fnv"
	"maps"
	"slices"
	"strconv"

	"github.com/durable-delivery/durable/journal"
)

// ShardOf is the shard of count that a service belongs to: a hash of its
// name, so that every reconciler computes the same without asking.
func ShardOf(service string, count int) int {
	h := fnv.New32a()
	h.Write([]byte(service))
	return int(h.Sum32() % uint32(count))
}

// Ownership is what one member holds at one instant: its membership and
// the shards it owns, each as the fence of its key.
type Ownership struct {
	// Prefix is the deployment's key prefix; Count its number of shards.
	Prefix string
	Count  int
	// Member is this member's registration key, alive with its lease.
	Member journal.Fence
	// Shards are the shards it owns, each with its lock's key.
	Shards map[int]journal.Fence
}

// Owns reports whether the shard of service is this member's.
func (o Ownership) Owns(service string) bool {
	_, ok := o.Shards[ShardOf(service, o.Count)]
	return ok
}

// Leads reports whether this member owns shard 0, and so takes in the
// revisions and compacts the journal.
func (o Ownership) Leads() bool {
	_, ok := o.Shards[0]
	return ok
}

// Owned is the shards this member owns, in order.
func (o Ownership) Owned() []int {
	return slices.Sorted(maps.Keys(o.Shards))
}

// ShardName is shard i's name in fencing tokens and status.
func (o Ownership) ShardName(i int) string {
	return o.Prefix + "shards/" + strconv.Itoa(i)
}

// same reports whether o and p hold the same keys.
func (o Ownership) same(p Ownership) bool {
	return o.Member == p.Member && maps.Equal(o.Shards, p.Shards)
}

// FenceFor chooses the fence of a journal write (journal.EtcdConfig's
// FenceFor):
//   - what takes in a revision — the revision, its releases — and the
//     journal's compaction: the leader's, shard 0's;
//   - an infra-set, a rollout, and an entry about a placement (a service on
//     a stage or a target, or one of its sets): the lock of that service's
//     shard;
//   - any other entry (an event of this reconciler's, a verdict on an
//     artifact): this member's registration, so that a member whose lease
//     ended writes nothing.
//
// A write of a shard this member does not own gets none: it is refused.
func (o Ownership) FenceFor(w journal.Write) (journal.Fence, bool) {
	switch {
	case w.Kind == journal.WriteRevision || w.Kind == journal.WriteRelease || w.Kind == journal.WriteCompaction:
		f, ok := o.Shards[0]
		return f, ok
	case w.Kind == journal.WriteEntry && (w.Service == "" || w.Stage == "" && w.Target == "" && w.Set == ""):
		return o.Member, true
	default:
		f, ok := o.Shards[ShardOf(w.Service, o.Count)]
		return f, ok
	}
}
