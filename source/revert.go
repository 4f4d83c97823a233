package source

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// ErrHeadMoved is returned by Revert when the branch no longer points at
// the commit to revert: someone pushed since, and their commit wins.
var ErrHeadMoved = errors.New("the branch moved since")

// Revert pushes, on top of head, a commit whose tree is to's: the
// repository then says what runs again. It is a fast-forward of the branch
// from head, never a force: if the branch moved, ErrHeadMoved.
func (s *Source) Revert(ctx context.Context, head, to, message string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, err := s.cache()
	if err != nil {
		return "", err
	}
	if !plumbing.IsHash(head) || !plumbing.IsHash(to) {
		return "", fmt.Errorf("revert %q to %q: not commit ids", head, to)
	}
	target, err := repo.CommitObject(plumbing.NewHash(to))
	if err != nil {
		return "", fmt.Errorf("revert to %s: %w", to, err)
	}
	return s.push(ctx, repo, written{head: head, tree: target.TreeHash, message: message, branch: s.cfg.Branch})
}

// push stores a commit of w.tree on w.head and pushes it to w.branch: the
// followed branch only if it still points at head, another as a
// fast-forward. Callers hold s.mu.
func (s *Source) push(ctx context.Context, repo *git.Repository, w written) (string, error) {
	head := w.head
	hash, err := writeCommit(repo, head, w.tree, w.message, s.signer)
	if err != nil {
		return "", err
	}
	ref := plumbing.NewBranchReferenceName(w.branch)
	auth, err := authMethod(s.parsed, s.cfg.Credentials)
	if err != nil {
		return "", fmt.Errorf("push the commit to %s: %w", s.shown, err)
	}
	var require []config.RefSpec
	if w.branch == s.cfg.Branch {
		// The push only lands if the branch still points at head.
		require = []config.RefSpec{config.RefSpec(fmt.Sprintf("%s:%s", head, ref))}
	}
	err = repo.PushContext(ctx, &git.PushOptions{
		RemoteName:        remoteName,
		RefSpecs:          []config.RefSpec{config.RefSpec(fmt.Sprintf("%s:%s", hash, ref))},
		Auth:              auth,
		RequireRemoteRefs: require,
	})
	switch {
	case err == nil:
		return hash.String(), nil
	case strings.Contains(err.Error(), "required to be") || strings.Contains(err.Error(), "non-fast-forward"):
		// go-git says so only in words.
		return "", fmt.Errorf("push the commit to %s: %w: %v", s.shown, ErrHeadMoved, err)
	}
	return "", s.refused(fmt.Errorf("push the commit to %s branch %s: %w", s.shown, w.branch, err))
}
