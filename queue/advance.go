package queue

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/durable-delivery/durable/reconcile"
	"github.com/durable-delivery/durable/source"
)

// step is one proposal of a pass: its candidate on the tip ahead of it,
// and what validating it found.
type step struct {
	p   Proposal
	c   candidate
	v   verdict
	err error
}

// advance applies head (the first proposals, in order) each onto main
// plus those ahead, validates each candidate as soon as it is made (while
// the next is made, when Depth > 1: speculatively, assuming those ahead
// pass), and lands them in order up to the first that fails. Those behind
// a failure were applied on it: they go back to queued, to be applied
// again without it next pass.
func (r *Runner) advance(ctx context.Context, head []Proposal) (int, error) {
	main, err := r.repo.resolve(ctx, "refs/heads/"+r.cfg.Main)
	if err != nil {
		return 0, err
	}
	if main == "" {
		return 0, fmt.Errorf("branch %s is not in %s", r.cfg.Main, r.repo.dir)
	}
	var validating sync.WaitGroup
	steps, err := r.composeAll(ctx, main, head, &validating)
	validating.Wait()
	if err != nil {
		return 0, err
	}
	landed := 0
	for i, s := range steps {
		if s.err != nil {
			return landed, r.requeue(steps[i:], s.err)
		}
		if s.v.failed() {
			return landed, r.requeue(steps[i+1:], r.eject(s.p, s.v))
		}
		p := s.p
		p.Candidate, p.Onto, p.Method = s.c.commit, s.c.onto, s.c.method
		p, ok, err := r.set(p, Landing)
		if err != nil || !ok {
			return landed, r.requeue(steps[i+1:], err)
		}
		if err := r.land(ctx, p); err != nil {
			return landed, err
		}
		landed++
	}
	return landed, nil
}

// composeAll applies each proposal onto the tip ahead of it and starts
// validating its candidate, counted in validating. One that cannot be
// applied is ejected at once, and those behind are applied without it;
// one the tip already holds lands with the tip.
func (r *Runner) composeAll(ctx context.Context, main string, head []Proposal, validating *sync.WaitGroup) ([]*step, error) {
	tip := main
	var steps []*step
	for _, p := range head {
		p, ok, err := r.set(p, Validating)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		c, v, err := r.comp.compose(ctx, tip, p)
		switch {
		case err != nil:
			return nil, r.requeue(append(steps, &step{p: p}), err)
		case v.failed():
			if err := r.eject(p, v); err != nil {
				return nil, err
			}
		case c.method == MethodContained:
			// Already on the tip: it lands when the tip does, unchecked
			// (what it brings was checked with what brought it).
			steps = append(steps, &step{p: p, c: c})
		default:
			s := &step{p: p, c: c}
			steps = append(steps, s)
			tip = c.commit
			validating.Go(func() { r.validate(ctx, s) })
		}
	}
	return steps, nil
}

// validate checks a step's candidate against its own tip.
func (r *Runner) validate(ctx context.Context, s *step) {
	tip := loadedTip{commit: s.c.onto, rev: r.tipAt(ctx, s.c.onto)}
	var loaded *reconcile.LoadedRevision
	s.v, loaded, s.err = r.cfg.Checker.check(ctx, r.repo, tip, s.c, s.p)
	if loaded != nil {
		r.remember(s.c.commit, loaded)
	}
}

// requeue puts steps validated on a tip that will not land back in the
// queue, and returns err.
func (r *Runner) requeue(steps []*step, err error) error {
	for _, s := range steps {
		s.p.Candidate, s.p.Onto, s.p.Method = "", "", ""
		if _, _, e := r.set(s.p, Queued); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// land moves main to p's candidate, recorded as landing: if main already
// holds it, it landed; if main is still where p was applied, it moves by
// compare-and-swap; if main moved otherwise, p is validated again.
func (r *Runner) land(ctx context.Context, p Proposal) error {
	main, err := r.repo.resolve(ctx, "refs/heads/"+r.cfg.Main)
	if err != nil {
		return err
	}
	done, err := r.repo.contains(ctx, main, p.Candidate)
	if err != nil {
		return err
	}
	if !done && main == p.Onto {
		if err := r.repo.moveMain(ctx, p.Candidate, p.Onto); err != nil {
			return err
		}
		done = true
	}
	if !done {
		r.cfg.Log.Info("main moved under a landing; validating again", "proposal", p.String(), "main", short(main))
		return r.requeue([]*step{{p: p}}, nil)
	}
	if _, _, err := r.set(p, Landed); err != nil {
		return err
	}
	r.cfg.Log.Info("landed", "proposal", p.String(), "commit", short(p.Candidate), "method", p.Method)
	if at, err := r.repo.resolve(ctx, "refs/heads/"+p.Branch); err == nil && at == p.Head && strings.HasPrefix(p.Branch, QueuePrefix) {
		return r.repo.dropBranch(ctx, p.Branch, p.Head)
	}
	return nil
}

// maxTipWalk is how far back main's history tipAt looks for a commit
// that loads.
const maxTipWalk = 20

// tipAt loads the commit a candidate is applied onto, once per commit.
// Where it does not load (someone pushed a broken main), the change is
// judged against the newest first-parent ancestor that does, as the
// reconciler judges a revision against the last it applied; nil when none
// of the last maxTipWalk does (the candidate is then admitted as a first
// revision would be).
func (r *Runner) tipAt(ctx context.Context, commit string) *reconcile.LoadedRevision {
	r.mu.Lock()
	rev, ok := r.tips[commit]
	r.mu.Unlock()
	if ok {
		return rev
	}
	at := commit
	for range maxTipWalk {
		snap, err := source.ReadLocal(r.repo.dir, at)
		if err == nil {
			var loaded reconcile.LoadedRevision
			if loaded, err = r.cfg.Checker.Loader.Load(ctx, reconcile.RevisionFiles{Files: snap.Files, Commit: reconcile.SnapshotCommit(snap, nil)}); err == nil {
				rev = &loaded
				break
			}
		}
		r.cfg.Log.Warn("a commit a proposal is applied onto does not load; judging against its parent", "commit", short(at), "err", err)
		if at, err = r.repo.resolve(ctx, at+"^"); err != nil || at == "" {
			break
		}
	}
	r.remember(commit, rev)
	return rev
}

// remember keeps a commit's loaded revision for the proposals applied
// onto it; nil when it does not load.
func (r *Runner) remember(commit string, rev *reconcile.LoadedRevision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.tips) >= 64 {
		clear(r.tips)
	}
	r.tips[commit] = rev
}
