package reconcile

import (
	"io/fs"
	"sort"
	"strings"

	"github.com/durable-delivery/durable/internal/approvals"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// readApprovals reads the approval files of a revision (approvals.Read).
// Each approval keeps the commit that first carried it (from prev, the
// last accepted revision's approvals); a new one is attributed to the
// revision's commit: its ID, its author and its verified signer (nil when
// commits are not verified). A release written as a prefix is resolved
// against the revision's releases.
func readApprovals(files fs.FS, ds *schema.DesiredState, prev []policy.Approval, commit policy.Commit) ([]policy.Approval, error) {
	stages := make([]string, 0, len(ds.Pipeline.Stages))
	for _, s := range ds.Pipeline.Stages {
		stages = append(stages, s.Name)
	}
	read, err := approvals.Read(files, stages)
	if err != nil {
		return nil, err
	}
	seen := map[string]policy.Approval{}
	for _, a := range prev {
		seen[approvalKey(a)] = a
	}
	out := []policy.Approval{}
	for _, f := range read {
		a := policy.Approval{Release: f.Release, Stage: f.Stage, By: f.By, Reason: f.Reason, File: f.Path}
		for _, svc := range ds.Services {
			if id := svc.ReleaseID(); strings.HasPrefix(id, a.Release) {
				a.Release = id
			}
		}
		if old, ok := seen[approvalKey(a)]; ok {
			a.Commit, a.Author, a.Signer, a.Verified = old.Commit, old.Author, old.Signer, old.Verified
		} else {
			a.Commit, a.Author, a.Signer, a.Verified = commit.ID, commit.Author, commit.Signer, commit.Signer != nil
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
}

func approvalKey(a policy.Approval) string {
	return strings.Join([]string{a.File, a.Release, a.Stage, a.By, a.Reason}, "\x00")
}

// approvalsFor lists the approvals of one release.
func approvalsFor(all []policy.Approval, release string) []policy.Approval {
	out := []policy.Approval{}
	for _, a := range all {
		if strings.HasPrefix(release, a.Release) {
			out = append(out, a)
		}
	}
	return out
}

// person splits "Name <email>".
func person(s string) policy.Person {
	name, email, ok := strings.Cut(s, "<")
	if !ok {
		return policy.Person{Name: strings.TrimSpace(s)}
	}
	return policy.Person{Name: strings.TrimSpace(name), Email: strings.TrimSuffix(strings.TrimSpace(email), ">")}
}
