package source

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Snapshot is one commit of the watched branch with its whole tree.
type Snapshot struct {
	Commit  string
	Tree    string
	Message string
	// Author is "Name <email>".
	Author string
	// Time is when the commit was made (committer time).
	Time time.Time
	// Files is the commit's tree, read-only and in memory. Symlinks inside
	// the tree appear as their target's content; submodules are absent.
	Files fs.FS
}

// Bounds on symlinks: a link's target is a path, and a chain of links ends
// in a file after a few hops or is a loop.
const (
	maxLinkTarget = 4096
	maxLinkHops   = 40
)

// snapshot reads commit hash from repo into a Snapshot, enforcing the caps.
func (s *Source) snapshot(repo *git.Repository, hash plumbing.Hash) (Snapshot, error) {
	commit, err := repo.CommitObject(hash)
	if err != nil {
		return Snapshot{}, fmt.Errorf("read commit: %w", err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return Snapshot{}, fmt.Errorf("read tree %s: %w", commit.TreeHash, err)
	}
	r := treeReader{repo: repo, maxFiles: s.cfg.MaxFiles, maxBytes: s.cfg.MaxBytes,
		files: map[string]treeFile{}, links: map[string]string{}}
	if err := r.read(tree); err != nil {
		return Snapshot{}, err
	}
	if err := r.resolveLinks(); err != nil {
		return Snapshot{}, err
	}
	return Snapshot{
		Commit:  commit.Hash.String(),
		Tree:    commit.TreeHash.String(),
		Message: commit.Message,
		Author:  fmt.Sprintf("%s <%s>", commit.Author.Name, commit.Author.Email),
		Time:    commit.Committer.When,
		Files:   newTreeFS(r.files, commit.Committer.When),
	}, nil
}

// treeReader loads a tree's files into memory, counting files and bytes
// before it reads them so that a hostile tree is refused early.
type treeReader struct {
	repo     *git.Repository
	maxFiles int
	maxBytes int64

	files map[string]treeFile
	links map[string]string // symlink path → target as written
	dirs  map[string]bool
	count int
	bytes int64
}

func (r *treeReader) read(tree *object.Tree) error {
	r.dirs = map[string]bool{".": true}
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for {
		name, entry, err := walker.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("walk tree at %q: %w", name, err)
		}
		if !fs.ValidPath(name) {
			return fmt.Errorf("tree holds an invalid path %q", name)
		}
		switch entry.Mode {
		case filemode.Dir:
			r.dirs[name] = true
		case filemode.Submodule:
			// A gitlink names a commit of another repository, which is not
			// fetched: the snapshot is this repository only.
		case filemode.Regular, filemode.Deprecated, filemode.Executable:
			if err := r.countFile(name); err != nil {
				return err
			}
			data, err := r.blob(name, entry.Hash, r.maxBytes-r.bytes, func(size int64) error {
				return fmt.Errorf("repository files exceed %d bytes in all (the source's MaxBytes cap), reached at %s (%d bytes); remove large files or raise the cap", r.maxBytes, name, size)
			})
			if err != nil {
				return err
			}
			r.bytes += int64(len(data))
			r.files[name] = treeFile{data: data, exec: entry.Mode == filemode.Executable}
		case filemode.Symlink:
			if err := r.countFile(name); err != nil {
				return err
			}
			target, err := r.blob(name, entry.Hash, maxLinkTarget, func(size int64) error {
				return fmt.Errorf("symlink %s: target is %d bytes, longer than any path (%d)", name, size, maxLinkTarget)
			})
			if err != nil {
				return err
			}
			r.links[name] = string(target)
		default:
			return fmt.Errorf("%s: unsupported git file mode %s", name, entry.Mode)
		}
	}
}

func (r *treeReader) countFile(name string) error {
	r.count++
	if r.count > r.maxFiles {
		return fmt.Errorf("repository holds more than %d files (the source's MaxFiles cap), reached at %s; remove files or raise the cap", r.maxFiles, name)
	}
	return nil
}

// blob reads the blob hash of file name; when it is larger than room bytes
// it returns tooBig(its size) instead, before reading it when the size is
// known from the object header.
func (r *treeReader) blob(name string, hash plumbing.Hash, room int64, tooBig func(size int64) error) ([]byte, error) {
	blob, err := r.repo.BlobObject(hash)
	if err != nil {
		return nil, fmt.Errorf("%s: read blob %s: %w", name, hash, err)
	}
	if blob.Size > room {
		return nil, tooBig(blob.Size)
	}
	rd, err := blob.Reader()
	if err != nil {
		return nil, fmt.Errorf("%s: read blob %s: %w", name, hash, err)
	}
	defer rd.Close()
	data, err := io.ReadAll(io.LimitReader(rd, room+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read blob %s: %w", name, hash, err)
	}
	if int64(len(data)) > room {
		return nil, tooBig(int64(len(data)))
	}
	return data, nil
}

// resolveLinks replaces every symlink by a copy of the file it leads to.
// A link must stay inside the tree and end at a file.
func (r *treeReader) resolveLinks() error {
	for name := range r.links {
		target, err := r.resolve(name)
		if err != nil {
			return err
		}
		f := r.files[target]
		r.bytes += int64(len(f.data))
		if r.bytes > r.maxBytes {
			return fmt.Errorf("repository files exceed %d bytes in all (the source's MaxBytes cap) once symlink %s is resolved; remove files or raise the cap", r.maxBytes, name)
		}
		r.files[name] = f
	}
	return nil
}

// resolve follows the chain of links from name to a regular file's path.
func (r *treeReader) resolve(name string) (string, error) {
	p := name
	for range maxLinkHops {
		target, isLink := r.links[p]
		if !isLink {
			if _, ok := r.files[p]; ok {
				return p, nil
			}
			if r.dirs[p] {
				return "", fmt.Errorf("symlink %s leads to directory %s; only links to files are supported, link each file instead", name, p)
			}
			return "", fmt.Errorf("symlink %s leads to %s, which is not in the repository", name, p)
		}
		if path.IsAbs(target) {
			return "", fmt.Errorf("symlink %s points to absolute path %s, outside the repository; links must stay inside the tree", name, target)
		}
		p = path.Join(path.Dir(p), target)
		if p == ".." || strings.HasPrefix(p, "../") {
			return "", fmt.Errorf("symlink %s points to %s, outside the repository; links must stay inside the tree", name, target)
		}
	}
	return "", fmt.Errorf("symlink %s: more than %d links in a chain (a loop?)", name, maxLinkHops)
}
