// Package signing decides whether Durable may trust what it is about to run:
// the commits of a desired-state revision and the OCI artifacts its releases
// name.
//
// It holds four things:
//
//   - the trust file (LoadTrust), configured on the reconciler host, which
//     says which public keys may sign which artifact repositories, which
//     attestations each must carry, and which OpenPGP and SSH keys may sign
//     commits;
//   - tag→digest resolution (Resolve, PinFile) for `durable pin`;
//   - artifact verification (Verifier): cosign signatures in both formats, the
//     classic `sha256-<hex>.sig` tag and Sigstore bundles stored as OCI
//     referrers, and the in-toto attestations a rule requires, all checked
//     offline against public keys;
//   - commit verification (VerifyCommit, VerifyRange, VerifyRevision): OpenPGP
//     and SSH signatures of Git commits.
//
// It fails closed: a tag is never trusted, anything over a limit is an error,
// an artifact or commit that matches no trusted key is refused, and every
// refusal is a typed error (ErrUnsigned, ErrUntrusted, …) that says what to do.
//
// It must never read its trust from the repository it protects, contact a
// transparency log or any service other than the artifact's registry, or
// import reconcile, schema or policy: it answers questions, the reconciler
// decides what to do with the answers.
package signing
