package source

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// maxEditedFiles bounds the files one written commit changes: the commits
// Durable writes (a rollback, an approval) touch a few.
const maxEditedFiles = 1000

// At returns the snapshot of commit, which the cache must hold: the head,
// or a commit fetched before (the journal's revisions were).
func (s *Source) At(commit string) (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, err := s.cache()
	if err != nil {
		return Snapshot{}, err
	}
	if !plumbing.IsHash(commit) {
		return Snapshot{}, fmt.Errorf("commit %q: not a commit id", commit)
	}
	snap, err := s.snapshot(repo, plumbing.NewHash(commit))
	if err != nil {
		return Snapshot{}, fmt.Errorf("%s commit %s: %w", s.shown, commit, err)
	}
	return snap, nil
}

// CommitFiles pushes, on top of head, a commit whose tree is head's with
// files changed: each path (slash-separated, relative to the root) set to
// its content, or removed where the content is nil. Like Revert, it is a
// fast-forward of the branch from head, never a force: if the branch moved,
// ErrHeadMoved.
func (s *Source) CommitFiles(ctx context.Context, head string, files map[string][]byte, message string) (string, error) {
	return s.CommitFilesTo(ctx, head, s.cfg.Branch, files, message)
}

// CommitFilesTo is CommitFiles pushing the commit to branch, which may be
// another than the one the source follows (a queue/* branch): that one is
// created, or fast-forwarded, never forced.
func (s *Source) CommitFilesTo(ctx context.Context, head, branch string, files map[string][]byte, message string) (string, error) {
	if err := plumbing.NewBranchReferenceName(branch).Validate(); err != nil || strings.HasPrefix(branch, "refs/") {
		return "", fmt.Errorf("commit on %s: branch %q is not a valid branch name", head, branch)
	}
	if len(files) == 0 || len(files) > maxEditedFiles {
		return "", fmt.Errorf("commit on %s: %d files changed; a commit changes 1 to %d", head, len(files), maxEditedFiles)
	}
	for p := range files {
		if p == "" || path.Clean(p) != p || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "../") || p == ".." || p == "." {
			return "", fmt.Errorf("commit on %s: path %q is not a clean relative path", head, p)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, err := s.cache()
	if err != nil {
		return "", err
	}
	if !plumbing.IsHash(head) {
		return "", fmt.Errorf("commit on %q: not a commit id", head)
	}
	base, err := repo.CommitObject(plumbing.NewHash(head))
	if err != nil {
		return "", fmt.Errorf("commit on %s: %w", head, err)
	}
	root, err := base.Tree()
	if err != nil {
		return "", fmt.Errorf("commit on %s: read tree: %w", head, err)
	}
	tree, err := editTree(repo, root, files)
	if err != nil {
		return "", fmt.Errorf("commit on %s: %w", head, err)
	}
	if tree == root.Hash {
		return "", fmt.Errorf("commit on %s: the files already hold what would be written; nothing to commit", head[:min(12, len(head))])
	}
	return s.push(ctx, repo, written{head: head, tree: tree, message: message, branch: branch})
}

// written is a commit the source writes: its parent, tree and message,
// and the branch it is pushed to.
type written struct {
	head    string
	tree    plumbing.Hash
	message string
	branch  string
}

// writeCommit stores a commit of tree on head by Durable, signed by signer
// unless it is nil.
func writeCommit(repo *git.Repository, head string, tree plumbing.Hash, message string, signer git.Signer) (plumbing.Hash, error) {
	sig := object.Signature{Name: "Durable", Email: "durable@localhost", When: time.Now()}
	c := &object.Commit{Author: sig, Committer: sig, Message: message, TreeHash: tree,
		ParentHashes: []plumbing.Hash{plumbing.NewHash(head)}}
	if signer != nil {
		unsigned := repo.Storer.NewEncodedObject()
		if err := c.EncodeWithoutSignature(unsigned); err != nil {
			return plumbing.ZeroHash, err
		}
		r, err := unsigned.Reader()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		armored, err := signer.Sign(r)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("sign the commit: %w", err)
		}
		c.PGPSignature = string(armored)
	}
	obj := repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return repo.Storer.SetEncodedObject(obj)
}

// editTree stores the tree that is base (nil: an empty one) with changes
// (paths relative to it) applied, and returns its hash; ZeroHash when the
// result is empty, which a parent then leaves out.
func editTree(repo *git.Repository, base *object.Tree, changes map[string][]byte) (plumbing.Hash, error) {
	entries := map[string]object.TreeEntry{}
	if base != nil {
		for _, e := range base.Entries {
			entries[e.Name] = e
		}
	}
	nested := map[string]map[string][]byte{}
	for p, data := range changes {
		dir, rest, ok := strings.Cut(p, "/")
		if ok {
			if nested[dir] == nil {
				nested[dir] = map[string][]byte{}
			}
			nested[dir][rest] = data
			continue
		}
		if data == nil {
			delete(entries, p)
			continue
		}
		hash, err := writeBlob(repo, data)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		mode := filemode.Regular
		if old, ok := entries[p]; ok && old.Mode == filemode.Executable {
			mode = filemode.Executable
		}
		entries[p] = object.TreeEntry{Name: p, Mode: mode, Hash: hash}
	}
	for dir, sub := range nested {
		var subTree *object.Tree
		if e, ok := entries[dir]; ok && e.Mode == filemode.Dir {
			t, err := repo.TreeObject(e.Hash)
			if err != nil {
				return plumbing.ZeroHash, fmt.Errorf("read tree %s: %w", dir, err)
			}
			subTree = t
		}
		hash, err := editTree(repo, subTree, sub)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("%s/: %w", dir, err)
		}
		delete(entries, dir)
		if !hash.IsZero() {
			entries[dir] = object.TreeEntry{Name: dir, Mode: filemode.Dir, Hash: hash}
		}
	}
	return writeTree(repo, entries)
}

// writeTree stores a tree of entries in Git's order: by name, a directory
// sorting as if its name ended in a slash.
func writeTree(repo *git.Repository, entries map[string]object.TreeEntry) (plumbing.Hash, error) {
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	t := &object.Tree{}
	for _, e := range entries {
		t.Entries = append(t.Entries, e)
	}
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(t.Entries, func(i, j int) bool { return key(t.Entries[i]) < key(t.Entries[j]) })
	obj := repo.Storer.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return repo.Storer.SetEncodedObject(obj)
}

func writeBlob(repo *git.Repository, data []byte) (plumbing.Hash, error) {
	obj := repo.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return repo.Storer.SetEncodedObject(obj)
}
