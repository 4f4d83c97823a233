package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/signing"
	"github.com/durable-delivery/durable/source"
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
	trust, _ := r.trust()
	if trust == nil || trust.Commits.Mode == signing.CommitsOff {
		return nil, nil
	}
	cv, ok := r.source.(commitVerifier)
	if !ok {
		return nil, errors.New("this source cannot check commit signatures; the trust file requires them")
	}
	verdicts, err := cv.VerifyCommits(lastApplied, snap.Commit, trust.Commits)
	if err != nil {
		return nil, fmt.Errorf("commit %s is not trusted (%s mode of %s): %w", short(snap.Commit), trust.Commits.Mode, trust.File, err)
	}
	if len(verdicts) == 0 {
		return nil, nil
	}
	s := verdicts[len(verdicts)-1].Signer
	return &policy.Signer{Identity: s.Identity, Method: s.Method, Key: s.Key}, nil
}

// verifyArtifacts verifies the artifact of every service of a revision
// against the trust file, and journals each first verdict. Without a trust
// file, or with one that says artifacts: unverified, nothing is verified and
// each artifact says so.
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
		if _, v := r.trust(); v == nil {
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
	_, verifier := r.trust()
	v, err := verifier.Verify(ctx, ref)
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
		r.journal(ctx, journal.Entry{Kind: api.EntryDecision, Service: service, Policy: policyTrust + ":" + v.Rule, Result: policy.Allow,
			Message: fmt.Sprintf("artifact %s verified: signed by %s (%s, %s), %d attestation(s)", ref, v.Signer.Identity, v.Signer.Key, v.Format, len(v.Attestations))})
	}
	return a, nil
}

// trust is the host's trust and its verifier as they are now: both nil
// without a trust file, the verifier nil when the trust file says
// artifacts: unverified.
func (r *Reconciler) trust() (*signing.Trust, *signing.Verifier) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg.Trust, r.verifier
}

// reloadTrust reads the trust file again when it changed on disk, so that
// a key removed from it is untrusted at once (verdicts are cached per
// verifier, and a new trust makes a new verifier). A trust file that no
// longer loads keeps the previous trust, journaled as an error.
func (r *Reconciler) reloadTrust(ctx context.Context) {
	trust, _ := r.trust()
	if trust == nil {
		return
	}
	info, err := os.Stat(trust.File)
	if err != nil {
		return
	}
	stamp := fmt.Sprintf("%d/%d", info.ModTime().UnixNano(), info.Size())
	r.mu.Lock()
	first, same := r.trustStamp == "", r.trustStamp == stamp
	r.trustStamp = stamp
	r.mu.Unlock()
	if first || same {
		return
	}
	next, err := signing.LoadTrust(trust.File)
	var v *signing.Verifier
	if err == nil && !next.ArtifactsUnverified {
		v, err = signing.NewVerifier(next)
	}
	if err != nil {
		r.log.Error("trust file changed but does not load; the previous trust stays", "file", trust.File, "err", err)
		r.journal(ctx, journal.Entry{Kind: api.EntryEvent, Message: "trust file " + trust.File + " changed but does not load; the previous trust stays", Error: err.Error()})
		return
	}
	r.mu.Lock()
	r.cfg.Trust, r.verifier = next, v
	r.verified = map[string]bool{}
	r.mu.Unlock()
	r.log.Info("trust file reloaded", "file", trust.File)
	artifacts := fmt.Sprintf("%d artifact rule(s)", len(next.Artifacts))
	if next.ArtifactsUnverified {
		artifacts = "artifacts NOT verified (artifacts: unverified)"
	}
	r.journal(ctx, journal.Entry{Kind: api.EntryEvent, Message: fmt.Sprintf("trust file %s reloaded: %s, commits %s", trust.File, artifacts, next.Commits.Mode)})
}
