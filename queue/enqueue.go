package queue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// maxBranchName bounds a branch name given to the queue.
const maxBranchName = 200

// Enqueue adds branch of the repository at dir to the queue at the commit
// it points at now; main itself cannot be proposed.
func (st *Store) Enqueue(ctx context.Context, dir, main, branch string, now time.Time) (Proposal, error) {
	if err := checkBranch(ctx, dir, main, branch); err != nil {
		return Proposal{}, err
	}
	head, err := branchHead(ctx, dir, branch)
	if err != nil {
		return Proposal{}, err
	}
	if head == "" {
		return Proposal{}, fmt.Errorf("branch %s is not in %s: push it first (or name it as git branch --list shows it)", branch, dir)
	}
	return st.Add(branch, head, now)
}

// checkBranch refuses a name Git would not take as a branch, or main.
func checkBranch(ctx context.Context, dir, main, branch string) error {
	switch {
	case branch == "":
		return errors.New("the branch is empty: give the proposal's branch, e.g. queue/web-v2")
	case len(branch) > maxBranchName:
		return fmt.Errorf("the branch name is %d bytes long; the queue takes at most %d", len(branch), maxBranchName)
	case strings.HasPrefix(branch, "-"):
		return fmt.Errorf("branch %.60q starts with '-'; give a branch name", branch)
	case strings.HasPrefix(branch, "refs/"):
		return fmt.Errorf("branch %.60q: give the short name, without refs/heads/", branch)
	case branch == main:
		return fmt.Errorf("branch %s is the branch proposals land on; propose another", branch)
	}
	if _, err := (repository{dir: os.TempDir()}).git(ctx, "check-ref-format", "--branch", branch); err != nil {
		return fmt.Errorf("branch %.60q is not a name Git takes for a branch (git check-ref-format --branch)", branch)
	}
	return nil
}

// branchHead is the commit branch points at in the repository at dir (a
// directory or a URL), "" when there is no such branch.
func branchHead(ctx context.Context, dir, branch string) (string, error) {
	if IsURL(dir) {
		return remoteHead(ctx, dir, branch)
	}
	repo := repository{dir: dir}
	if _, err := repo.open(); err != nil {
		return "", err
	}
	return repo.resolve(ctx, "refs/heads/"+branch)
}
