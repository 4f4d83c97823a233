package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/durable-delivery/durable/internal/tarfiles"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// historyDepth bounds how many of the clone's commits that changed its
// desired state approve loads to find a release.
const historyDepth = 20

// checkApproval refuses an approval that could never be used: stage must be
// a stage of the desired state at the clone's HEAD, and release a release
// the repository had. The releases it had are those the reconciler's
// journal recorded when stateDir is given; else those of the services at
// HEAD and at the last historyDepth commits that changed anything but
// approvals/ and policy/. Each refusal says what would be right.
func checkApproval(ctx context.Context, repo, stateDir, stage, release string) error {
	ds, err := loadCommit(ctx, repo, "HEAD")
	if err != nil {
		return fmt.Errorf("read the desired state at HEAD of %s: %w", repo, err)
	}
	var stages []string
	for _, s := range ds.Pipeline.Stages {
		stages = append(stages, s.Name)
	}
	if !slices.Contains(stages, stage) {
		return usageError{fmt.Errorf("--stage %q: no such stage in the pipeline at HEAD of %s (stages: %s)%s",
			stage, repo, strings.Join(stages, ", "), didYouMean(stage, stages))}
	}
	var known []string
	where := fmt.Sprintf("the reconciler's journal in %s", stateDir)
	if stateDir != "" {
		known, err = journaledReleases(ctx, stateDir)
	} else {
		where = fmt.Sprintf("the services of %s at HEAD and its last %d commits that changed the desired state", repo, historyDepth)
		known, err = historyReleases(ctx, repo, ds, release)
	}
	if err != nil {
		return err
	}
	for _, id := range known {
		if strings.HasPrefix(id, release) {
			return nil
		}
	}
	return usageError{fmt.Errorf("release %s is not a release of %s%s", release, where, didYouMean(release, shortIDs(known, len(release))))}
}

// historyReleases lists the release ids of ds (HEAD's) and, until one
// starts with release, of the commits before HEAD that changed the desired
// state, newest first.
func historyReleases(ctx context.Context, repo string, head *schema.DesiredState, release string) ([]string, error) {
	known := releaseIDs(head)
	out, err := exec.CommandContext(ctx, "git", "-C", repo, "log", "--format=%H", fmt.Sprintf("-n%d", historyDepth),
		"HEAD", "--", ".", ":(exclude)approvals", ":(exclude)policy").Output()
	if err != nil {
		return nil, fmt.Errorf("git log in %s: %w", repo, err)
	}
	for _, commit := range strings.Fields(string(out)) {
		if slices.ContainsFunc(known, func(id string) bool { return strings.HasPrefix(id, release) }) {
			break
		}
		ds, err := loadCommit(ctx, repo, commit)
		if err != nil {
			continue // a commit that did not load had no releases
		}
		for _, id := range releaseIDs(ds) {
			if !slices.Contains(known, id) {
				known = append(known, id)
			}
		}
	}
	return known, nil
}

// journaledReleases lists the release ids of every revision the
// reconciler with state directory stateDir accepted.
func journaledReleases(ctx context.Context, stateDir string) ([]string, error) {
	st, err := journal.OpenBolt(filepath.Join(stateDir, "journal.db"), journal.BoltOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("--state %s: %w (a running reconciler holds its journal: leave --state out to check against the repository's history)", stateDir, err)
	}
	defer st.Close()
	revs, err := st.Revisions(ctx, 0)
	if err != nil {
		return nil, err
	}
	var known []string
	for _, rev := range revs {
		for _, name := range slices.Sorted(maps.Keys(rev.Releases)) {
			if id := rev.Releases[name]; !slices.Contains(known, id) {
				known = append(known, id)
			}
		}
	}
	return known, nil
}

// releaseIDs are the release ids of a desired state's services, by name.
func releaseIDs(ds *schema.DesiredState) []string {
	var ids []string
	for _, name := range slices.Sorted(maps.Keys(ds.Services)) {
		ids = append(ids, ds.Services[name].ReleaseID())
	}
	return ids
}

// commitLimits bound the tree of one commit that approve loads. A desired
// state is a few files of text, far below them; a tree above them is
// refused rather than written to disk whole.
var commitLimits = tarfiles.Limits{Bytes: 256 << 20, File: 32 << 20, Entries: 100_000}

// pastLimits says how a repository whose tree is over commitLimits gets
// past them: approve reads what git archive writes, which leaves out the
// paths marked export-ignore.
const pastLimits = "mark the paths durable need not read export-ignore in the repository's .gitattributes"

// loadCommit loads the desired state of a commit of the clone repo, from
// its tree as git archive writes it (never from the work tree).
func loadCommit(ctx context.Context, repo, commit string) (*schema.DesiredState, error) {
	dir, err := os.MkdirTemp("", "durable-approve-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, "git", "-C", repo, "archive", "--format=tar", commit)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	tarball, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	extractErr := tarfiles.Extract(tarball, dir, commitLimits)
	if extractErr != nil {
		// git archive may be blocked writing the rest of the tree: closing
		// the pipe ends it, else Wait would wait for it forever.
		tarball.Close()
	}
	waitErr := cmd.Wait()
	if errors.Is(extractErr, tarfiles.ErrOverLimit) {
		return nil, fmt.Errorf("commit %s: %w; %s", commit, extractErr, pastLimits)
	}
	if extractErr != nil {
		return nil, fmt.Errorf("commit %s: %w", commit, extractErr)
	}
	if waitErr != nil {
		return nil, fmt.Errorf("git archive %s: %v: %s", commit, waitErr, strings.TrimSpace(stderr.String()))
	}
	return schema.LoadDir(dir)
}

// didYouMean is "; did you mean X?" for the candidate nearest to word, or
// "" when none is near.
func didYouMean(word string, candidates []string) string {
	best, bestDist := "", max(3, len(word)/4)
	for _, c := range candidates {
		if d := schema.EditDistance(word, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %s?", best)
}

// shortIDs cuts release ids to n characters, the length the user wrote.
func shortIDs(ids []string, n int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id[:min(n, len(id))]
	}
	return out
}
