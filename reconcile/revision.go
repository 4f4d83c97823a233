package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/source"
)

// handleSnapshot records a fetched revision once, with its verdict, and makes
// it the desired state when it loads. A fetch error or a rejected revision
// changes nothing that runs.
func (r *Reconciler) handleSnapshot(ctx context.Context, snap source.Snapshot, fetchErr error) {
	if fetchErr != nil {
		r.noteFetchError(ctx, fetchErr)
		return
	}
	r.mu.Lock()
	r.sourceErr = nil
	r.mu.Unlock()
	if r.cfg.Follow {
		r.follow(ctx, snap.Commit)
		return
	}

	if _, err := r.store.Revision(ctx, snap.Commit); err == nil {
		return // already seen and judged
	} else if !errors.Is(err, journal.ErrNotFound) {
		r.log.Error("read journal", "err", err)
		return
	}

	rev := journal.Revision{
		Commit:  snap.Commit,
		Tree:    snap.Tree,
		Branch:  r.source.Branch(),
		Message: firstLine(snap.Message),
		Author:  snap.Author,
		SeenAt:  time.Now().UTC(),
	}
	ds, pol, repoPolicies, ok := r.judge(ctx, snap, rev)
	if ok {
		r.accept(ctx, rev, ds, pol, repoPolicies)
	}
}

// noteFetchError records that the repository cannot be fetched: in the
// journal once, until a fetch succeeds again.
func (r *Reconciler) noteFetchError(ctx context.Context, fetchErr error) {
	r.mu.Lock()
	first := r.sourceErr == nil
	r.sourceErr, r.sourceErrAt = fetchErr, time.Now()
	r.mu.Unlock()
	if first {
		r.log.Error("fetch desired-state repository; what runs is unchanged", "err", fetchErr)
		r.journal(ctx, journal.Entry{Kind: api.EntryEvent, Message: "repository unreachable; what runs is unchanged", Error: fetchErr.Error()})
	}
}

// judge verifies a revision's commits, loads it, verifies its artifacts and
// asks the admission policy about it. A revision that fails any of them is
// rejected (journaled, ok false); an admission that cannot be asked is
// logged and asked again with the next snapshot.
func (r *Reconciler) judge(ctx context.Context, snap source.Snapshot, rev journal.Revision) (*schema.DesiredState, policies, map[string]string, bool) {
	r.reloadTrust(ctx)
	r.mu.Lock()
	old, lastApplied := r.desired, r.revision.Commit
	r.mu.Unlock()
	signer, err := r.verifyCommits(snap, lastApplied)
	if err != nil {
		r.reject(ctx, rev, errorLines(err))
		return nil, policies{}, nil, false
	}
	ds, pol, repoPolicies, err := r.load(ctx, snap, signer)
	if err != nil {
		r.reject(ctx, rev, errorLines(err))
		return nil, policies{}, nil, false
	}
	if lines := r.unfenced(ds); len(lines) > 0 {
		r.reject(ctx, rev, lines)
		return nil, policies{}, nil, false
	}
	artifacts, err := r.verifyArtifacts(ctx, ds)
	if err != nil {
		r.reject(ctx, rev, errorLines(err))
		return nil, policies{}, nil, false
	}
	info := commitInfo{commit: SnapshotCommit(snap, signer), artifacts: artifacts}
	d, err := r.admit(ctx, pol, old, ds, info)
	if err != nil {
		r.log.Error("ask admission policy", "err", err)
		return nil, policies{}, nil, false
	}
	if d.Defined() {
		msg := fmt.Sprintf("admission %s for revision %s", d.Result, short(snap.Commit))
		if d.Result != policy.Allow {
			msg += ": " + reasonsLine(d)
		}
		r.journal(ctx, decisionEntry(journal.Entry{}, d, msg))
	}
	if d.Result != policy.Allow {
		lines := make([]string, len(d.Reasons))
		for i, reason := range d.Reasons {
			lines[i] = "denied by policy " + d.Policy + ": " + reason
		}
		r.reject(ctx, rev, lines)
		return nil, policies{}, nil, false
	}
	return ds, pol, repoPolicies, true
}

// accept journals an admitted revision with its releases, desired state,
// policies and approvals, and makes it the desired state. The revision is
// durable before anything converges on it.
func (r *Reconciler) accept(ctx context.Context, rev journal.Revision, ds *schema.DesiredState, pol policies, repoPolicies map[string]string) {
	rev.Verdict = api.RevisionAccepted
	rev.Releases = map[string]string{}
	for name, svc := range ds.Services {
		rev.Releases[name] = svc.ReleaseID()
		if err := r.putRelease(ctx, svc, rev.Commit); err != nil {
			r.log.Error("journal release", "err", err)
			return
		}
	}
	rev.DesiredState = r.stateJSON(ds)
	rev.Policies = repoPolicies
	rev.Approvals, _ = json.Marshal(pol.approvals)
	r.mu.Lock()
	prev, old := r.revision, r.desired
	r.mu.Unlock()
	rev.Attempt = rev.Commit
	if holdOnly(prev, old, rev, ds) {
		rev.Attempt = attemptOf(prev)
	}
	if err := r.store.PutRevision(ctx, rev); err != nil {
		r.log.Error("journal revision", "err", err)
		return
	}
	r.journal(ctx, journal.Entry{Kind: api.EntryRevision, Result: string(api.RevisionAccepted),
		Message: fmt.Sprintf("revision %s accepted: %q", short(rev.Commit), rev.Message), Detail: revisionDetail(rev)})
	r.log.Info("revision accepted", "revision", short(rev.Commit), "message", rev.Message)

	r.mu.Lock()
	r.desired, r.revision, r.policies = ds, withoutState(rev), pol
	r.mu.Unlock()
}

// stateJSON is ds as json.Marshal encodes it: the text admission prepared,
// or written without Marshal's buffer of its size beside the result
// (schema.WriteJSON): 16 MB at 10,000 services. A state that does not
// encode (none does) is left out, as before.
func (r *Reconciler) stateJSON(ds *schema.DesiredState) json.RawMessage {
	if p := r.states.find(ds); p != nil {
		return p.JSON()
	}
	var buf bytes.Buffer
	if err := schema.WriteJSON(&buf, ds); err != nil {
		return nil
	}
	return buf.Bytes()
}

// withoutState is rev without its desired state's JSON, as the reconciler
// keeps the revision it applies (the desired state decoded beside it).
func withoutState(rev journal.Revision) journal.Revision {
	rev.DesiredState = nil
	return rev
}

// load reads a revision's desired state, policies and approvals through
// the loader durable validate uses too. Any error rejects the revision; its
// lines are positioned.
func (r *Reconciler) load(ctx context.Context, snap source.Snapshot, signer *policy.Signer) (*schema.DesiredState, policies, map[string]string, error) {
	r.mu.Lock()
	prev := r.policies.approvals
	r.mu.Unlock()
	evaluate := func(ctx context.Context, fsys fs.FS) (*schema.DesiredState, error) {
		return r.trees.load(ctx, snap.Tree, fsys, r.cfg.LoadState)
	}
	loader := RevisionLoader{LoadState: evaluate, Secrets: r.withSecrets,
		HostNames: func(ds *schema.DesiredState) error { return CheckHostNames(ds, r.cfg.Host.Config) },
		Policy:    policy.Options{Timeout: r.cfg.PolicyTimeout}, HostPolicies: r.cfg.HostPolicies}
	rev, err := loader.Load(ctx, RevisionFiles{Files: snap.Files, Approved: prev,
		Commit: policy.Commit{ID: snap.Commit, Author: person(snap.Author), Signer: signer}})
	if err != nil {
		return nil, policies{}, nil, err
	}
	return rev.Desired, policies{engine: rev.Engine, approvals: rev.Approvals}, rev.Policies, nil
}

// putRelease journals a service's release the first time it is seen. The
// spec holds where its secrets are, never their values.
func (r *Reconciler) putRelease(ctx context.Context, svc schema.Service, commit string) error {
	id := svc.ReleaseID()
	if _, err := r.store.Release(ctx, id); !errors.Is(err, journal.ErrNotFound) {
		return err
	}
	spec, err := json.Marshal(svc)
	if err != nil {
		return err
	}
	return r.store.PutRelease(ctx, journal.Release{ID: id, Service: svc.Name, Artifact: svc.Artifact,
		Revision: commit, SeenAt: time.Now().UTC(), Spec: spec})
}

// reject records a revision that may not apply, with why; what runs is
// unchanged.
func (r *Reconciler) reject(ctx context.Context, rev journal.Revision, errs []string) {
	rev.Verdict, rev.Errors = api.RevisionRejected, errs
	if err := r.store.PutRevision(ctx, rev); err != nil {
		r.log.Error("journal revision", "err", err)
		return
	}
	r.log.Warn("revision rejected; what runs is unchanged", "revision", short(rev.Commit), "errors", strings.Join(rev.Errors, "; "))
	r.journal(ctx, journal.Entry{Kind: api.EntryRevision, Result: string(api.RevisionRejected),
		Message: fmt.Sprintf("revision %s rejected: %d error(s); what runs is unchanged", short(rev.Commit), len(rev.Errors)),
		Error:   strings.Join(rev.Errors, "\n"), Detail: revisionDetail(rev)})
}

// revisionDetail says, on a revision's entry, which commit it judged.
func revisionDetail(rev journal.Revision) json.RawMessage {
	subject, _, _ := strings.Cut(rev.Message, "\n")
	if len(subject) > 200 {
		subject = strings.ToValidUTF8(subject[:200], "")
	}
	b, _ := json.Marshal(api.RevisionDetail{Commit: rev.Commit, Author: rev.Author, Subject: subject})
	return b
}

// errorLines turns a load error into one positioned line per problem, for
// each of the errors it joins.
func errorLines(err error) []string {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range joined.Unwrap() {
			out = append(out, errorLines(e)...)
		}
		return out
	}
	var errs schema.Errors
	if errors.As(err, &errs) {
		out := make([]string, 0, len(errs))
		for _, e := range errs {
			out = append(out, e.String())
		}
		return out
	}
	var perrs policy.Errors
	if errors.As(err, &perrs) {
		out := make([]string, 0, len(perrs))
		for _, e := range perrs {
			out = append(out, e.String())
		}
		return out
	}
	return strings.Split(err.Error(), "\n")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func short(commit string) string {
	if len(commit) > 10 {
		return commit[:10]
	}
	return commit
}
