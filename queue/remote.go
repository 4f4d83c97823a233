package queue

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// scpLike is Git's user@host:path form of an SSH URL.
var scpLike = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:`)

// IsURL reports whether --repo names a remote repository rather than a
// directory of this host.
func IsURL(repo string) bool {
	return strings.Contains(repo, "://") || scpLike.MatchString(repo)
}

// mirror makes (or reuses) the bare repository under dir where the queue
// keeps a copy of the remote url's branches: candidates are written there
// and pushed.
func mirror(ctx context.Context, dir, url string) (repository, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return repository{}, fmt.Errorf("queue mirror %s: %w", dir, err)
	}
	r := repository{dir: dir, remote: url}
	if _, err := r.git(ctx, "rev-parse", "--is-bare-repository"); err != nil {
		if _, err := r.git(ctx, "init", "--quiet", "--bare"); err != nil {
			return repository{}, err
		}
	}
	return r, nil
}

// sync makes the mirror's branches the remote's, as they are now.
func (r repository) sync(ctx context.Context) error {
	if r.remote == "" {
		return nil
	}
	_, err := r.git(ctx, "fetch", "--quiet", "--prune", "--no-tags", "--update-head-ok", "--end-of-options", r.remote, "+refs/heads/*:refs/heads/*")
	return err
}

// push sets the remote's ref to commit ("" deletes it) only if it is
// still at old: a compare-and-swap on the remote (--force-with-lease),
// then the mirror's copy.
func (r repository) push(ctx context.Context, ref, commit, old string) error {
	if _, err := r.git(ctx, "push", "--quiet", "--force-with-lease="+ref+":"+old, "--end-of-options", r.remote, commit+":"+ref); err != nil {
		return err
	}
	if commit == "" {
		_, err := r.git(ctx, "update-ref", "-d", ref, old)
		return err
	}
	_, err := r.git(ctx, "update-ref", ref, commit, old)
	return err
}

// remoteHead is the commit branch points at on the remote url ("" when
// it has none).
func remoteHead(ctx context.Context, url, branch string) (string, error) {
	out, err := repository{dir: os.TempDir()}.git(ctx, "ls-remote", "--heads", "--end-of-options", url, "refs/heads/"+branch)
	if err != nil {
		return "", err
	}
	sha, _, _ := strings.Cut(out, "\t")
	return sha, nil
}
