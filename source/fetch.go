package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

const remoteName = "origin"

// fetchTimeout bounds one fetch from the remote, when the caller's deadline
// is later or absent: a remote that accepts and never answers (or stops
// sending) fails the fetch then, the cache keeps what it had and the next
// poll tries again. A shallow fetch of one branch takes seconds; this
// leaves room for a first fetch of a large repository. A variable so that
// tests can shorten it.
var fetchTimeout = 2 * time.Minute

// Fetch brings the branch head into the cache (a shallow, single-branch
// fetch) and returns it as a Snapshot. When the repository cannot be reached
// the error names the URL and the cache keeps what it had.
func (s *Source) Fetch(ctx context.Context) (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, err := s.fetch(ctx)
	if err == nil || ctx.Err() != nil || !s.cacheDamaged() {
		return snap, err
	}
	// The cache is only a cache: one left damaged (a reconciler killed
	// while it wrote a reference leaves the file empty, and every fetch
	// after fails on it) is removed and filled again from the remote.
	if rmErr := os.RemoveAll(s.cfg.Dir); rmErr != nil {
		return Snapshot{}, fmt.Errorf("%w; the source cache %s is damaged and could not be removed: %v", err, s.cfg.Dir, rmErr)
	}
	s.repo = nil
	return s.fetch(ctx)
}

// cacheDamaged reports whether the cache directory holds a bare repository
// (the layout initCache makes) whose references cannot all be read.
// Callers hold s.mu.
func (s *Source) cacheDamaged() bool {
	if _, err := os.Stat(filepath.Join(s.cfg.Dir, "objects")); err != nil {
		return false // not a cache of ours: never removed
	}
	// With objects/ there, a repository that does not open (go-git says
	// it does not exist when HEAD is empty) is a damaged one.
	repo, err := git.PlainOpen(s.cfg.Dir)
	if err != nil {
		return true
	}
	if _, err := repo.Storer.Reference(plumbing.HEAD); err != nil {
		return true
	}
	refs, err := repo.References()
	if err != nil {
		return true
	}
	return refs.ForEach(func(*plumbing.Reference) error { return nil }) != nil
}

// fetch is one attempt of Fetch. Callers hold s.mu.
func (s *Source) fetch(ctx context.Context) (Snapshot, error) {
	repo, err := s.cache()
	if err != nil {
		return Snapshot{}, err
	}
	tracking := plumbing.NewRemoteReferenceName(remoteName, s.cfg.Branch)
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", plumbing.NewBranchReferenceName(s.cfg.Branch), tracking))
	depth := 1
	if s.cfg.FullHistory {
		depth = 0
	}
	auth, err := authMethod(s.parsed, s.cfg.Credentials)
	if err != nil {
		return Snapshot{}, fmt.Errorf("fetch from %s: %w", s.shown, err)
	}
	fctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	opts := &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{spec},
		Depth:      depth,
		Auth:       auth,
		Tags:       git.NoTags,
		Force:      true,
	}
	if s.parsed.Scheme == "ssh" {
		var done func()
		opts.ProxyOptions, done = boundedSSH(fctx)
		defer done()
	}
	err = repo.FetchContext(fctx, opts)
	if errors.Is(err, git.NoMatchingRefSpecError{}) {
		return Snapshot{}, fmt.Errorf("fetch from %s: branch %s does not exist there; push it or configure the right branch: %w", s.shown, s.cfg.Branch, err)
	}
	if uerr := s.unreachable(ctx, fctx, err); uerr != nil {
		return Snapshot{}, uerr
	}
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return Snapshot{}, s.refused(fmt.Errorf("fetch branch %s from %s: %w", s.cfg.Branch, s.shown, err))
	}
	ref, err := repo.Reference(tracking, true)
	if err != nil {
		return Snapshot{}, fmt.Errorf("branch %s of %s: resolve fetched head: %w", s.cfg.Branch, s.shown, err)
	}
	snap, err := s.snapshot(repo, ref.Hash())
	if err != nil {
		return Snapshot{}, fmt.Errorf("%s branch %s commit %s: %w", s.shown, s.cfg.Branch, ref.Hash(), err)
	}
	return snap, nil
}

// unreachable says, of a fetch's error, that the remote could not be
// reached or did not answer in time, and what to check; nil for any other
// error (and for the caller's own deadline).
func (s *Source) unreachable(caller, fetch context.Context, err error) error {
	const check = "check the URL, and that the remote is up and reachable from this host; the last snapshot stays, the next poll tries again"
	var opErr *net.OpError
	switch {
	case err == nil:
		return nil
	case fetch.Err() != nil && caller.Err() == nil:
		return fmt.Errorf("fetch branch %s from %s: the remote did not answer within %s (%s): %w", s.cfg.Branch, s.shown, fetchTimeout, check, err)
	case errors.As(err, &opErr):
		return fmt.Errorf("fetch branch %s from %s: the remote is unreachable (%s): %w", s.cfg.Branch, s.shown, check, err)
	}
	return nil
}

// cache opens the bare repository in Dir, creating it on first use, and
// points its remote at the configured URL. Callers hold s.mu.
func (s *Source) cache() (*git.Repository, error) {
	if s.repo == nil {
		repo, err := git.PlainOpen(s.cfg.Dir)
		if errors.Is(err, git.ErrRepositoryNotExists) {
			repo, err = s.initCache()
		}
		if err != nil {
			return nil, fmt.Errorf("source cache %s: %w", s.cfg.Dir, err)
		}
		cfg, err := repo.Config()
		if err != nil {
			return nil, fmt.Errorf("source cache %s: read config: %w", s.cfg.Dir, err)
		}
		if !cfg.Core.IsBare {
			return nil, fmt.Errorf("source cache %s is a repository with a worktree, not a source cache; give the source a directory of its own", s.cfg.Dir)
		}
		s.repo = repo
	}
	remote, err := s.repo.Remote(remoteName)
	switch {
	case err == nil && len(remote.Config().URLs) == 1 && remote.Config().URLs[0] == s.url:
		return s.repo, nil
	case err == nil:
		// The cache followed another URL before: follow the new one.
		if err := s.repo.DeleteRemote(remoteName); err != nil {
			return nil, fmt.Errorf("source cache %s: replace remote: %w", s.cfg.Dir, err)
		}
	case !errors.Is(err, git.ErrRemoteNotFound):
		return nil, fmt.Errorf("source cache %s: read remote: %w", s.cfg.Dir, err)
	}
	if _, err := s.repo.CreateRemote(&config.RemoteConfig{Name: remoteName, URLs: []string{s.url}}); err != nil {
		return nil, fmt.Errorf("source cache %s: set remote: %w", s.cfg.Dir, err)
	}
	return s.repo, nil
}

// initCache makes a bare repository in Dir, refusing a directory that holds
// anything else: the source owns Dir and must not mix with a user's files.
func (s *Source) initCache() (*git.Repository, error) {
	entries, err := os.ReadDir(s.cfg.Dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(s.cfg.Dir, 0o700); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case len(entries) > 0:
		return nil, errors.New("directory is not empty and is not a source cache; give the source a directory of its own")
	}
	return git.PlainInit(s.cfg.Dir, true)
}
