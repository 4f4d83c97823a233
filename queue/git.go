package queue

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/durable-delivery/durable/source"
)

// QueuePrefix is the branch prefix a push to which enqueues.
const QueuePrefix = "queue/"

// gitTimeout bounds one git command on the local repository.
const gitTimeout = 2 * time.Minute

// repository is the desired-state repository on this host, or the
// queue's mirror of a remote one: refs move through the git CLI
// (update-ref's compare-and-swap, and a push with a lease to the remote),
// objects are read and written through go-git.
type repository struct {
	dir  string
	main string
	// remote is the URL the mirror at dir copies ("" for a repository
	// of this host).
	remote string
}

// git runs one git command in the repository and returns its trimmed
// standard output; exit status 1 is reported as errExit1 for the commands
// that answer with it.
func (r repository) git(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", r.dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return strings.TrimSpace(stdout.String()), errExit1
	}
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %w: %s", args[0], r.dir, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

var errExit1 = errors.New("exit status 1")

// resolve returns the commit ref names, or "" when there is none.
func (r repository) resolve(ctx context.Context, ref string) (string, error) {
	out, err := r.git(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if errors.Is(err, errExit1) {
		return "", nil
	}
	return out, err
}

// branchRef is a queue branch and the commit it points at.
type branchRef struct {
	name, commit string
	when         int64 // the commit's committer time, Unix seconds
}

// queueBranches lists the branches under queue/, oldest commit first (then
// by name): the order a scan enqueues them in, as close to the order they
// were pushed as Git can tell.
func (r repository) queueBranches(ctx context.Context) ([]branchRef, error) {
	out, err := r.git(ctx, "for-each-ref", "--format=%(objectname) %(committerdate:unix) %(refname)", "refs/heads/"+QueuePrefix)
	if err != nil {
		return nil, err
	}
	var refs []branchRef
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		when, _ := strconv.ParseInt(f[1], 10, 64)
		refs = append(refs, branchRef{name: strings.TrimPrefix(f[2], "refs/heads/"), commit: f[0], when: when})
	}
	slices.SortStableFunc(refs, func(a, b branchRef) int {
		return cmp.Or(cmp.Compare(a.when, b.when), strings.Compare(a.name, b.name))
	})
	return refs, nil
}

// contains reports whether commit is an ancestor of (or is) tip.
func (r repository) contains(ctx context.Context, tip, commit string) (bool, error) {
	_, err := r.git(ctx, "merge-base", "--is-ancestor", commit, tip)
	if errors.Is(err, errExit1) {
		return false, nil
	}
	return err == nil, err
}

func (r repository) mergeBase(ctx context.Context, a, b string) (string, error) {
	out, err := r.git(ctx, "merge-base", a, b)
	if errors.Is(err, errExit1) {
		return "", fmt.Errorf("%s and %s share no history", short(a), short(b))
	}
	return out, err
}

// mergeTree merges theirs into ours as Git does, without a work tree, and
// returns the merged tree (with conflict markers where it conflicts) and
// the files that conflict.
func (r repository) mergeTree(ctx context.Context, ours, theirs string) (string, []string, error) {
	out, err := r.git(ctx, "merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs)
	if err != nil && !errors.Is(err, errExit1) {
		return "", nil, err
	}
	lines := strings.Split(out, "\n")
	if !plumbing.IsHash(lines[0]) {
		return "", nil, fmt.Errorf("git merge-tree gave %.80q, not a tree", lines[0])
	}
	if err == nil {
		return lines[0], nil, nil
	}
	return lines[0], lines[1:], nil
}

// moveMain moves main from old to commit, only if it is still at old.
func (r repository) moveMain(ctx context.Context, commit, old string) error {
	if r.remote != "" {
		return r.push(ctx, "refs/heads/"+r.main, commit, old)
	}
	_, err := r.git(ctx, "update-ref", "-m", "durable queue: land "+short(commit), "refs/heads/"+r.main, commit, old)
	return err
}

// dropBranch deletes a queue branch that still points at head.
func (r repository) dropBranch(ctx context.Context, branch, head string) error {
	if r.remote != "" {
		return r.push(ctx, "refs/heads/"+branch, "", head)
	}
	_, err := r.git(ctx, "update-ref", "-d", "refs/heads/"+branch, head)
	return err
}

// commit stores a commit of tree (a hash) on parent, signed by signer
// when there is one; it moves no branch.
func (r repository) commit(tree, parent, message string, signer git.Signer) (string, error) {
	repo, err := r.open()
	if err != nil {
		return "", err
	}
	h, err := source.WriteCommit(repo, parent, plumbing.NewHash(tree), message, signer)
	if err != nil {
		return "", fmt.Errorf("write the commit of tree %s on %s: %w", short(tree), short(parent), err)
	}
	return h.String(), nil
}

func (r repository) open() (*git.Repository, error) {
	repo, err := source.OpenLocal(r.dir)
	if err != nil {
		return nil, fmt.Errorf("open the Git repository at %s: %w", r.dir, err)
	}
	return repo, nil
}
