package cluster

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/durable-delivery/durable/journal"
)

// TestRebalanceSettlesGenerated plays 2,000 generated histories of members
// joining and leaving, each member settling in a random order on the view
// of the moment (a free shard goes to the first that tries it, as its
// lock decides), and checks after each change, once every member settled
// twice: every shard is owned exactly once, no member holds more than its
// fair share, and shard 0 stayed with its owner while that one lived.
func TestRebalanceSettlesGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 2000 {
		count := 1 + rng.IntN(40)
		held := map[string][]int{}
		next := 0
		leader := ""
		for step := range 12 {
			if len(held) < 2 || rng.IntN(3) > 0 && len(held) < 8 {
				held[fmt.Sprintf("m%d", next)] = nil
				next++
			} else {
				names := slices.Sorted(maps.Keys(held))
				gone := names[rng.IntN(len(names))]
				delete(held, gone)
				if gone == leader {
					leader = ""
				}
			}
			for range 2 {
				settleAll(rng, held, count)
			}
			where := fmt.Sprintf("run %d (%d shards) step %d: %v", run, count, step, held)
			checkSettled(t, held, count, where)
			owner := ownerOf(held, 0)
			if leader != "" && owner != leader {
				t.Fatalf("%s: shard 0 moved from %s, still a member, to %s", where, leader, owner)
			}
			leader = owner
		}
	}
}

// settleAll lets each member rebalance once, in a random order.
func settleAll(rng *rand.Rand, held map[string][]int, count int) {
	names := slices.Sorted(maps.Keys(held))
	rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	for _, m := range names {
		var free []int
		for s := range count {
			if ownerOf(held, s) == "" {
				free = append(free, s)
			}
		}
		release, take := rebalance(m, count, len(held), held[m], free)
		held[m] = slices.DeleteFunc(held[m], func(s int) bool { return slices.Contains(release, s) })
		held[m] = append(held[m], take...)
	}
}

func ownerOf(held map[string][]int, shard int) string {
	for m, shards := range held {
		if slices.Contains(shards, shard) {
			return m
		}
	}
	return ""
}

func checkSettled(t *testing.T, held map[string][]int, count int, where string) {
	t.Helper()
	seen := map[int]string{}
	for m, shards := range held {
		if len(shards) > fairShare(count, len(held)) {
			t.Fatalf("%s: %s holds %d shards, above the fair share %d", where, m, len(shards), fairShare(count, len(held)))
		}
		for _, s := range shards {
			if other, ok := seen[s]; ok {
				t.Fatalf("%s: shard %d held by %s and %s", where, s, other, m)
			}
			seen[s] = m
		}
	}
	if len(seen) != count {
		t.Fatalf("%s: %d of %d shards owned", where, len(seen), count)
	}
}

// TestFenceForChoosesByRecord: each kind of write gets the fence the
// package's doc promises, and a write of a shard not owned gets none.
func TestFenceForChoosesByRecord(t *testing.T) {
	member := journal.Fence{Key: "/m", Revision: 1}
	zero, three := journal.Fence{Key: "/s0", Revision: 2}, journal.Fence{Key: "/s3", Revision: 3}
	own := Ownership{Count: 4, Member: member, Shards: map[int]journal.Fence{0: zero, 3: three}}
	notLeader := Ownership{Count: 4, Member: member, Shards: map[int]journal.Fence{3: three}}
	svc3, svc1 := serviceOf(3, 4), serviceOf(1, 4)
	cases := []struct {
		own  Ownership
		w    journal.Write
		want journal.Fence
		ok   bool
	}{
		{own, journal.Write{Kind: journal.WriteRevision}, zero, true},
		{own, journal.Write{Kind: journal.WriteRelease, Service: svc3}, zero, true},
		{own, journal.Write{Kind: journal.WriteCompaction}, zero, true},
		{notLeader, journal.Write{Kind: journal.WriteRevision}, journal.Fence{}, false},
		{notLeader, journal.Write{Kind: journal.WriteRelease, Service: svc3}, journal.Fence{}, false},
		{own, journal.Write{Kind: journal.WriteInfraSet, Service: svc3, Stage: "prod", Target: "t"}, three, true},
		{own, journal.Write{Kind: journal.WriteRollout, Service: svc3, Stage: "prod", Target: "t"}, three, true},
		{own, journal.Write{Kind: journal.WriteEntry, Service: svc3, Stage: "prod"}, three, true},
		{own, journal.Write{Kind: journal.WriteEntry, Service: svc3, Target: "t"}, three, true},
		{own, journal.Write{Kind: journal.WriteEntry, Service: svc3, Set: "svc-3-abc"}, three, true},
		{notLeader, journal.Write{Kind: journal.WriteEntry, Service: svc1, Set: "x"}, journal.Fence{}, false},
		{own, journal.Write{Kind: journal.WriteInfraSet, Service: svc1, Stage: "prod", Target: "t"}, journal.Fence{}, false},
		{own, journal.Write{Kind: journal.WriteEntry, Service: svc1, Stage: "prod", Target: "t"}, journal.Fence{}, false},
		{notLeader, journal.Write{Kind: journal.WriteEntry}, member, true},
		{notLeader, journal.Write{Kind: journal.WriteEntry, Service: svc1}, member, true},
	}
	for _, c := range cases {
		got, ok := c.own.FenceFor(c.w)
		if got != c.want || ok != c.ok {
			t.Errorf("FenceFor(%s) with shards %v: %v %v, want %v %v", c.w, c.own.Owned(), got, ok, c.want, c.ok)
		}
	}
}

// TestShardOfSpreadsAndAgrees: the same name gives the same shard, always
// within the count, and 10,000 names spread over 16 shards within 20% of
// even.
func TestShardOfSpreadsAndAgrees(t *testing.T) {
	per := make([]int, 16)
	for i := range 10000 {
		name := fmt.Sprintf("service-%d", i)
		s := ShardOf(name, 16)
		if s < 0 || s >= 16 || ShardOf(name, 16) != s {
			t.Fatalf("ShardOf(%q) = %d", name, s)
		}
		per[s]++
	}
	for s, n := range per {
		if n < 500 || n > 750 {
			t.Errorf("shard %d has %d of 10,000 services: %v", s, n, per)
		}
	}
}
