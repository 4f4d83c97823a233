package source

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// maxRevisionLength bounds a commit-ish given on a command line.
const maxRevisionLength = 256

// ReadLocal reads one revision of the repository at dir (or a directory
// under its work tree) without fetching: rev is any commit-ish Git
// resolves ("HEAD", a branch, a tag, a hash, "HEAD~2"), and the snapshot is
// bounded as a fetched one is. durable plan reads the revision it plans
// through it.
func ReadLocal(dir, rev string) (Snapshot, error) {
	if err := checkRevision(rev); err != nil {
		return Snapshot{}, err
	}
	repo, err := OpenLocal(dir)
	if err != nil {
		return Snapshot{}, fmt.Errorf("open the Git repository at %s: %w (give --repo the desired-state repository's directory)", dir, err)
	}
	hash, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return Snapshot{}, fmt.Errorf("revision %q of %s: %w (give a commit, branch or tag of that repository; git fetch it first when it is only on the remote)", rev, dir, err)
	}
	s := &Source{cfg: Config{MaxFiles: DefaultMaxFiles, MaxBytes: DefaultMaxBytes}}
	snap, err := s.snapshot(repo, *hash)
	if err != nil {
		return Snapshot{}, fmt.Errorf("revision %q of %s: %w", rev, dir, err)
	}
	return snap, nil
}

// OpenLocal opens the repository at dir: a bare repository, or the work
// tree holding dir.
func OpenLocal(dir string) (*git.Repository, error) {
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	}
	return repo, err
}

// checkRevision refuses a commit-ish that no repository names: empty,
// oversized, or holding control characters or spaces.
func checkRevision(rev string) error {
	switch {
	case rev == "":
		return errors.New("revision is empty; give a commit, branch or tag, e.g. HEAD")
	case len(rev) > maxRevisionLength:
		return fmt.Errorf("revision is %d bytes long; a commit-ish is at most %d", len(rev), maxRevisionLength)
	case strings.HasPrefix(rev, "-"):
		return fmt.Errorf("revision %q starts with '-'; give a commit, branch or tag", rev)
	case strings.IndexFunc(rev, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }) >= 0:
		return fmt.Errorf("revision %q holds a space or control character; give a commit, branch or tag", rev)
	}
	return nil
}
