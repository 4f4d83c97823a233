package cluster

import (
	"hash/fnv"
	"slices"
)

// fairShare is the most shards one of members may own: the count divided
// evenly, rounded up.
func fairShare(count, members int) int {
	return (count + max(members, 1) - 1) / max(members, 1)
}

// rebalance is what a member holding mine does, with the members seen and
// the shards no one holds (free): give up the shards above its fair share
// (release), and take free ones up to it (take, in the order to try them).
// It keeps shard 0 the longest, since moving the leadership costs a
// revision's intake; and it tries free shards from a place its name
// chooses, so that members taking at once mostly try different ones.
// Every member computing it on the same view keeps each shard owned once
// (the locks decide a race) and, once the view settles, every shard owned.
func rebalance(self string, count, members int, mine, free []int) (release, take []int) {
	fair := fairShare(count, members)
	if len(mine) > fair {
		keep := slices.Clone(mine)
		slices.SortFunc(keep, func(a, b int) int {
			if (a == 0) != (b == 0) {
				if a == 0 {
					return -1
				}
				return 1
			}
			return a - b
		})
		return keep[fair:], nil
	}
	want := fair - len(mine)
	if want == 0 || len(free) == 0 {
		return nil, nil
	}
	order := slices.Sorted(slices.Values(free))
	h := fnv.New32a()
	h.Write([]byte(self))
	start := int(h.Sum32() % uint32(len(order)))
	order = append(order[start:], order[:start]...)
	return nil, order[:min(want, len(order))]
}
