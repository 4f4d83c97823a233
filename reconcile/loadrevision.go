package reconcile

import (
	"context"
	"errors"
	"io/fs"

	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// RevisionLoader turns one revision's files into what the reconciler applies:
// the desired state (with its secrets), the compiled policies and the
// approvals. durable run and durable validate both load through it, so that
// they can never disagree on what a revision is.
type RevisionLoader struct {
	// LoadState evaluates the desired state; nil is schema.Load.
	LoadState func(context.Context, fs.FS) (*schema.DesiredState, error)
	// Secrets resolves the services' secrets on this host and records
	// their digests; nil checks them only as far as the repository holds
	// them (each names one source; a SOPS file is in the tree, encrypted),
	// which the schema does, as durable validate needs.
	Secrets func(*schema.DesiredState) error
	// HostNames checks what the targets name on the host (plug-ins,
	// Docker engines, HAProxy sockets, routers) against the operator's
	// host file; nil checks only their shape, which the schema does, as
	// durable validate without --host-config needs.
	HostNames func(*schema.DesiredState) error
	// Policy and HostPolicies are how the repository's policies compile:
	// both sources must allow.
	Policy       policy.Options
	HostPolicies policy.Source
}

// RevisionFiles is one revision to load: its tree and its commit (ID,
// author, and signer when commit signatures are verified).
type RevisionFiles struct {
	Files  fs.FS
	Commit policy.Commit
	// Approved are the approvals already attributed to earlier revisions.
	Approved []policy.Approval
}

// LoadedRevision is a revision as the reconciler applies it.
type LoadedRevision struct {
	Desired *schema.DesiredState
	// Policies are the repository's Rego files (path → text), compiled in
	// Engine with the host's.
	Policies  map[string]string
	Engine    *policy.Engine
	Approvals []policy.Approval
}

// Load reads a revision. Its error joins every problem found, each
// positioned: the desired state's (schema.Errors), its secrets', and its
// policies' (policy.Errors), so that one run shows them all.
func (l RevisionLoader) Load(ctx context.Context, rev RevisionFiles) (LoadedRevision, error) {
	var out LoadedRevision
	loadState := l.LoadState
	if loadState == nil {
		loadState = func(_ context.Context, fsys fs.FS) (*schema.DesiredState, error) { return schema.Load(fsys) }
	}
	ds, stateErr := loadState(ctx, rev.Files)
	if stateErr == nil && l.HostNames != nil {
		stateErr = l.HostNames(ds)
	}
	if stateErr == nil && l.Secrets != nil {
		stateErr = l.Secrets(ds)
	}
	src, err := policy.ReadSource(rev.Files, PolicyDir, "repository", rev.Commit.ID)
	if err != nil {
		return out, errors.Join(stateErr, err)
	}
	engine, policyErr := policy.Compile(ctx, l.Policy, policy.Source{Name: "repository", Revision: rev.Commit.ID, Modules: src.Modules}, l.HostPolicies)
	if err := errors.Join(stateErr, policyErr); err != nil {
		return out, err
	}
	approvals, err := readApprovals(rev.Files, ds, rev.Approved, rev.Commit)
	if err != nil {
		return out, err
	}
	return LoadedRevision{Desired: ds, Policies: src.Modules, Engine: engine, Approvals: approvals}, nil
}
