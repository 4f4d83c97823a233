package signing

import (
	"container/heap"
	"errors"
	"fmt"
	"slices"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// reach records from which end of a range a commit was reached.
type reach uint8

const (
	fromTo   reach = 1 << iota // an ancestor of (or equal to) to
	fromFrom                   // an ancestor of (or equal to) from: not new
)

// rangeSlop is how many more commits the walk examines after every queued
// commit is known to be old, in case committer dates are skewed; git's
// revision walk uses the same margin.
const rangeSlop = 5

// newCommits lists the commits reachable from to and not from from, oldest
// first. It walks both ends at once, newest committer date first, painting
// what from reaches, and stops once only old commits remain queued, so that
// a merge of a branch forked long ago does not walk the whole history.
//
// Invariant: a commit is painted fromFrom only by following parent links
// from from, so no new commit is ever left out; and the walk stops only when
// every queued commit is an ancestor of from, so every new commit has been
// popped. Committer dates only order the walk: a skewed date can make it
// list an old commit as new (verify more), never the reverse.
func newCommits(repo *git.Repository, from, to plumbing.Hash) ([]*object.Commit, error) {
	w := &rangeWalk{repo: repo, reach: map[plumbing.Hash]reach{}, expanded: map[plumbing.Hash][]plumbing.Hash{}, queued: map[plumbing.Hash]bool{}}
	if err := w.mark(to, fromTo, plumbing.ZeroHash); err != nil {
		return nil, err
	}
	if !from.IsZero() {
		if err := w.mark(from, fromFrom, plumbing.ZeroHash); err != nil {
			return nil, err
		}
	}
	var candidates []*object.Commit
	slop := rangeSlop
	for w.queue.Len() > 0 {
		if w.newQueued == 0 {
			if slop--; slop == 0 {
				break
			}
		} else {
			slop = rangeSlop
		}
		c := heap.Pop(&w.queue).(*object.Commit)
		delete(w.queued, c.Hash)
		r := w.reach[c.Hash]
		if r&fromFrom == 0 {
			w.newQueued--
			candidates = append(candidates, c)
			if len(candidates) > maxRangeCommits {
				return nil, fmt.Errorf("commits %s: more than %d new commits; verify a shorter range (or use commits.mode head)", rangeName(from, to), maxRangeCommits)
			}
		}
		w.expanded[c.Hash] = c.ParentHashes
		for _, p := range c.ParentHashes {
			if err := w.mark(p, r, c.Hash); err != nil {
				return nil, fmt.Errorf("commits %s: %w", rangeName(from, to), err)
			}
		}
		if w.walked++; w.walked > 10*maxRangeCommits {
			return nil, fmt.Errorf("commits %s: the histories of both ends differ by more than %d commits; verify a shorter range", rangeName(from, to), 10*maxRangeCommits)
		}
	}
	candidates = slices.DeleteFunc(candidates, func(c *object.Commit) bool { return w.reach[c.Hash]&fromFrom != 0 })
	slices.Reverse(candidates)
	return candidates, nil
}

// rangeWalk is the state of newCommits.
type rangeWalk struct {
	repo      *git.Repository
	reach     map[plumbing.Hash]reach
	expanded  map[plumbing.Hash][]plumbing.Hash // parents of commits already popped
	queued    map[plumbing.Hash]bool
	queue     commitQueue
	newQueued int // queued commits not (yet) known to be reachable from from
	walked    int
}

// mark records that h is reached from r's ends (child names who led there,
// for messages), queues it when first seen, and when it turns out to be
// reachable from from after being expanded, carries that to its ancestors.
func (w *rangeWalk) mark(h plumbing.Hash, r reach, child plumbing.Hash) error {
	stack := []plumbing.Hash{h}
	for len(stack) > 0 {
		h, stack = stack[len(stack)-1], stack[:len(stack)-1]
		old, seen := w.reach[h]
		if seen && old|r == old {
			continue
		}
		w.reach[h] = old | r
		if !seen {
			c, err := w.repo.CommitObject(h)
			if errors.Is(err, plumbing.ErrObjectNotFound) && r&fromFrom != 0 {
				// The old side's history ends here (a shallow clone):
				// what lies beyond cannot be new.
				continue
			}
			if err != nil {
				if child.IsZero() {
					return fmt.Errorf("commit %s: %w", h, err)
				}
				return fmt.Errorf("commit %s (parent of %s) is not in the repository; strict mode needs the history since the last verified revision (fetch deeper): %w", h, child, err)
			}
			heap.Push(&w.queue, c)
			w.queued[h] = true
			if r&fromFrom == 0 {
				w.newQueued++
			}
			continue
		}
		if r&fromFrom != 0 && old&fromFrom == 0 {
			if w.queued[h] {
				w.newQueued--
			}
			stack = append(stack, w.expanded[h]...)
		}
	}
	return nil
}

// commitQueue is a max-heap of commits by committer date.
type commitQueue []*object.Commit

func (q commitQueue) Len() int { return len(q) }
func (q commitQueue) Less(i, j int) bool {
	return q[i].Committer.When.After(q[j].Committer.When)
}
func (q commitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)   { *q = append(*q, x.(*object.Commit)) }
func (q *commitQueue) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}
