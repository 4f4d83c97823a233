package queue

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/reconcile"
	"github.com/durable-delivery/durable/signing"
	"github.com/durable-delivery/durable/source"
)

// Checker checks a candidate as the reconciler checks a revision: the
// same trust, the same load path, the same admission and plan.
type Checker struct {
	// Loader is how the reconciler loads a revision (durable run's, with
	// its isolation, host names and host policies).
	Loader reconcile.RevisionLoader
	// Commits are the trust file's commit rules; the zero value (no
	// mode) verifies nothing, as --insecure-skip-verify.
	Commits signing.CommitTrust
	// PolicyTestTimeout bounds one policy test (default 5s).
	PolicyTestTimeout time.Duration
	// Checks are the operator's commands, run on the candidate's tree.
	Checks []Command
	// Now is the clock policies see.
	Now func() policy.Now
}

// verdict is what a check found wrong: nothing (zero) when it passed.
type verdict struct {
	Reason  Reason
	Reasons []string
}

func (v verdict) failed() bool { return v.Reason != "" }

func fail(reason Reason, lines ...string) verdict { return verdict{Reason: reason, Reasons: lines} }

// loadedTip is a commit that candidates are applied onto (main, or the
// candidate of the proposal ahead), loaded.
type loadedTip struct {
	commit string
	rev    *reconcile.LoadedRevision // nil when it does not load
}

// check validates candidate c of p onto tip. It returns the candidate
// loaded, for the proposal behind it to be checked against.
func (ck Checker) check(ctx context.Context, repo repository, tip loadedTip, c candidate, p Proposal) (verdict, *reconcile.LoadedRevision, error) {
	signer, v, err := ck.signatures(repo, c, p)
	if err != nil || v.failed() {
		return v, nil, err
	}
	snap, err := source.ReadLocal(repo.dir, c.commit)
	if err != nil {
		return fail(ReasonInvalid, err.Error()), nil, nil
	}
	commit := reconcile.SnapshotCommit(snap, signer)
	var running reconcile.Running
	if tip.rev != nil {
		running = reconcile.Running{Desired: tip.rev.Desired, Approvals: tip.rev.Approvals}
	}
	loaded, err := ck.Loader.Load(ctx, reconcile.RevisionFiles{Files: snap.Files, Commit: commit, Approved: running.Approvals})
	if err != nil {
		return fail(ReasonInvalid, lines(err)...), nil, nil
	}
	if v := ck.policyTests(ctx, snap, commit.ID); v.failed() {
		return v, nil, nil
	}
	plan := reconcile.Plan(ctx, reconcile.PlanRequest{Revision: loaded, Commit: commit, Running: running, Now: ck.now()})
	if v := admitted(plan); v.failed() {
		return v, nil, nil
	}
	if v := ck.commands(ctx, snap, p, c.commit); v.failed() {
		return v, nil, nil
	}
	return verdict{}, &loaded, nil
}

// signatures verifies the proposal's own commits (from where it forked
// main) and, when the queue wrote the candidate, the queue's commit: the
// trust file must accept both. It returns who signed the candidate.
func (ck Checker) signatures(repo repository, c candidate, p Proposal) (*policy.Signer, verdict, error) {
	if ck.Commits.Mode == "" || ck.Commits.Mode == signing.CommitsOff {
		return nil, verdict{}, nil
	}
	gr, err := repo.open()
	if err != nil {
		return nil, verdict{}, err
	}
	from := plumbing.ZeroHash
	if c.base != "" {
		from = plumbing.NewHash(c.base)
	}
	verdicts, err := signing.VerifyRevision(gr, from, plumbing.NewHash(p.Head), ck.Commits)
	if err != nil {
		return nil, fail(ReasonSignature, "the proposal's commits: "+err.Error()), nil
	}
	if c.commit != p.Head {
		verdicts, err = signing.VerifyRevision(gr, plumbing.NewHash(c.onto), plumbing.NewHash(c.commit), ck.Commits)
		if err != nil {
			return nil, fail(ReasonSignature, "the queue's commit (list the queue's --commit-key in the trust file's allowed signers): "+err.Error()), nil
		}
	}
	if len(verdicts) == 0 {
		return nil, verdict{}, nil
	}
	s := verdicts[len(verdicts)-1].Signer
	return &policy.Signer{Identity: s.Identity, Method: s.Method, Key: s.Key}, verdict{}, nil
}

// policyTests runs the repository's own policy tests, as durable policy
// test does; a repository without tests passes.
func (ck Checker) policyTests(ctx context.Context, snap source.Snapshot, commit string) verdict {
	src, err := policy.ReadSource(snap.Files, reconcile.PolicyDir, "repository", commit)
	if err != nil {
		return fail(ReasonInvalid, err.Error())
	}
	if len(src.Tests) == 0 {
		return verdict{}
	}
	rep, err := policy.RunTests(ctx, src, ck.PolicyTestTimeout)
	if err != nil {
		return fail(ReasonPolicyTest, lines(err)...)
	}
	if rep.OK() {
		return verdict{}
	}
	var out []string
	for _, r := range rep.Results {
		switch {
		case r.Error != "":
			out = append(out, fmt.Sprintf("policy test %s: %s errored: %s", r.Location, r.Name, r.Error))
		case !r.Pass && !r.Skipped:
			out = append(out, fmt.Sprintf("policy test %s: %s failed", r.Location, r.Name))
		}
	}
	return fail(ReasonPolicyTest, out...)
}

// admitted reads the plan's admission: a denial ejects with the policy's
// reasons and the change's classes.
func admitted(p api.Plan) verdict {
	if p.Admission.Result == "allow" {
		return verdict{}
	}
	head := fmt.Sprintf("admission (%s) says %s to a change of class %s", p.Admission.Policy, p.Admission.Result, strings.Join(p.Classes, ", "))
	return fail(ReasonAdmission, append([]string{head}, p.Admission.Reasons...)...)
}

func (ck Checker) now() policy.Now {
	if ck.Now != nil {
		return ck.Now()
	}
	return policy.NowIn(time.Now(), time.UTC)
}

// lines splits a joined error into its lines.
func lines(err error) []string {
	var out []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		out = []string{fmt.Sprintf("%T without a message", err)}
	}
	return out
}
