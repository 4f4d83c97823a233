package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/reconcile/source"
	"github.com/durable-delivery/durable/reconcile/store"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/signing"
)

// policyTrust is cited by the decisions the host's trust file makes.
const policyTrust = "trust"

// commitVerifier is what a source offers to check commit signatures.
type commitVerifier interface {
	VerifyCommits(from, to string, trust signing.CommitTrust) ([]signing.CommitVerdict, error)
}

// verifyCommits checks a revision's commits per the trust file's mode and
// returns the head commit's verified signer (nil when commits are not
// checked).
func (r *Reconciler) verifyCommits(snap source.Snapshot, lastApplied string) (*policy.Signer, error) {
	if r.cfg.Trust == nil || r.cfg.Trust.Commits.Mode == signing.CommitsOff {
		return nil, nil
	}
	cv, ok := r.source.(commitVerifier)
	if !ok {
		return nil, errors.New("this source cannot check commit signatures; the trust file requires them")
	}
	verdicts, err := cv.VerifyCommits(lastApplied, snap.Commit, r.cfg.Trust.Commits)
	if err != nil {
		return nil, fmt.Errorf("commit %s is not trusted (%s mode of %s): %w", short(snap.Commit), r.cfg.Trust.Commits.Mode, r.cfg.Trust.File, err)
	}
	if len(verdicts) == 0 {
		return nil, nil
	}
	s := verdicts[len(verdicts)-1].Signer
	return &policy.Signer{Identity: s.Identity, Method: s.Method, Key: s.Key}, nil
}

// verifyArtifacts verifies the artifact of every service of a revision
// against the trust file, and journals each first verdict. Without a trust
// file nothing is verified and each artifact says so.
func (r *Reconciler) verifyArtifacts(ctx context.Context, ds *schema.DesiredState) (map[string]policy.Artifact, error) {
	out := map[string]policy.Artifact{}
	names := make([]string, 0, len(ds.Services))
	for n := range ds.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	var problems []error
	for _, name := range names {
		ref := ds.Services[name].Artifact
		if r.verifier == nil {
			out[name] = policy.Artifact{Ref: ref, Attestations: []policy.ArtifactAttestation{}}
			continue
		}
		a, err := r.verifyArtifact(ctx, name, ref)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		out[name] = a
	}
	return out, errors.Join(problems...)
}

// verifyArtifact verifies one artifact; the verifier caches what it
// verified, so that asking again (before each infra-set) costs nothing.
func (r *Reconciler) verifyArtifact(ctx context.Context, service, ref string) (policy.Artifact, error) {
	v, err := r.verifier.Verify(ctx, ref)
	if err != nil {
		return policy.Artifact{}, fmt.Errorf("services.%s.artifact %s is not trusted: %w", service, ref, err)
	}
	a := policy.Artifact{Ref: ref, Verified: true, Format: v.Format, Attestations: []policy.ArtifactAttestation{},
		Signer: &policy.Signer{Identity: v.Signer.Identity, Method: v.Signer.Method, Key: v.Signer.Key}}
	for _, at := range v.Attestations {
		a.Attestations = append(a.Attestations, policy.ArtifactAttestation{PredicateType: at.PredicateType, Statement: at.Statement})
	}
	r.mu.Lock()
	first := !r.verified[v.Digest]
	r.verified[v.Digest] = true
	r.mu.Unlock()
	if first {
		r.journal(ctx, store.Entry{Kind: store.EntryDecision, Service: service, Policy: policyTrust + ":" + v.Rule, Result: policy.Allow,
			Message: fmt.Sprintf("artifact %s verified: signed by %s (%s, %s), %d attestation(s)", ref, v.Signer.Identity, v.Signer.Key, v.Format, len(v.Attestations))})
	}
	return a, nil
}
