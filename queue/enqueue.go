package queue

import (
	"context"
	"errors"
	"fmt"
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
	repo := repository{dir: dir, main: main}
	if _, err := repo.open(); err != nil {
		return Proposal{}, err
	}
	head, err := repo.resolve(ctx, "refs/heads/"+branch)
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
	if _, err := (repository{dir: dir}).git(ctx, "check-ref-format", "--branch", branch); err != nil {
		return fmt.Errorf("branch %.60q is not a name Git takes for a branch (git check-ref-format --branch)", branch)
	}
	return nil
}
