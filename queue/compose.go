package queue

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5"
)

// How a candidate was made.
const (
	// MethodFastForward: main is an ancestor of the proposal, which lands
	// as it is, its own commits and signatures kept.
	MethodFastForward = "fast-forward"
	// MethodMerge: Git merged the proposal onto main without conflict; the
	// queue wrote one commit of the merged tree, signed with its key.
	MethodMerge = "merge"
	// MethodFieldMerge: Git's merge conflicted; the queue wrote the
	// proposal's field changes onto main's files (fieldedit), one commit
	// signed with its key.
	MethodFieldMerge = "field-merge"
	// MethodContained: main already holds the proposal.
	MethodContained = "already-on-main"
)

// candidate is a proposal applied onto a tip: the commit that is validated
// and lands.
type candidate struct {
	commit, onto, base, method string
}

// composer applies proposals onto tips.
type composer struct {
	repo   repository
	signer git.Signer
	merge  fieldMerger
}

// compose applies p onto tip. A proposal Git and the field paths cannot
// merge gives a failed verdict.
func (c composer) compose(ctx context.Context, tip string, p Proposal) (candidate, verdict, error) {
	if at, err := c.repo.resolve(ctx, p.Head); err != nil || at != p.Head {
		return candidate{}, fail(ReasonBranch, fmt.Sprintf("commit %s of %s is not in the repository (the branch was rewritten and its commit collected?): push it again", short(p.Head), p.Branch)), nil
	}
	if ok, err := c.repo.contains(ctx, tip, p.Head); err != nil || ok {
		return candidate{commit: tip, onto: tip, base: p.Head, method: MethodContained}, verdict{}, err
	}
	base, err := c.repo.mergeBase(ctx, tip, p.Head)
	if err != nil {
		return candidate{}, fail(ReasonBranch, err.Error()), nil
	}
	if base == tip {
		return candidate{commit: p.Head, onto: tip, base: base, method: MethodFastForward}, verdict{}, nil
	}
	tree, conflicted, err := c.repo.mergeTree(ctx, tip, p.Head)
	if err != nil {
		return candidate{}, verdict{}, err
	}
	method := MethodMerge
	if len(conflicted) > 0 {
		var v verdict
		tree, v, err = c.merge.merge(ctx, mergeInput{base: base, ours: tip, theirs: p.Head, merged: tree, conflicted: conflicted})
		if err != nil || v.failed() {
			return candidate{}, v, err
		}
		method = MethodFieldMerge
	}
	commit, err := c.repo.commit(tree, tip, landingMessage(p, method), c.signer)
	if err != nil {
		return candidate{}, verdict{}, err
	}
	return candidate{commit: commit, onto: tip, base: base, method: method}, verdict{}, nil
}

// landingMessage is the message of a commit the queue writes. It names
// the proposal but carries none of its trailers: an approval in a
// proposal's message lands only by fast-forward, under its own signature.
func landingMessage(p Proposal, method string) string {
	return fmt.Sprintf("Land %s (%s) by %s\n\nQueue-Branch: %s\nQueue-Head: %s\n",
		strings.TrimPrefix(p.Branch, QueuePrefix), short(p.Head), method, p.Branch, p.Head)
}
