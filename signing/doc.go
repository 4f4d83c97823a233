// Package signing decides whether Durable may trust what it is about to run:
// the commits of a desired-state revision and the OCI artifacts its releases
// name.
//
// It holds four things:
//
//   - the trust file (LoadTrust), configured on the reconciler host, which
//     says which public keys and which keyless identities may sign which
//     artifact repositories, which attestations each must carry, and which
//     OpenPGP and SSH keys may sign commits;
//   - tag→digest resolution (Resolve, PinFile) for `durable pin`;
//   - artifact verification (Verifier): cosign signatures in both formats, the
//     classic `sha256-<hex>.sig` tag and Sigstore bundles stored as OCI
//     referrers, and the in-toto attestations a rule requires, all checked
//     offline against public keys or, for keyless signatures, against the
//     Sigstore trusted root the trust file names;
//   - commit verification (VerifyCommit, VerifyRange, VerifyRevision): OpenPGP
//     and SSH signatures of Git commits.
//
// # Keyless signatures
//
// A keyless signature is made with a short-lived certificate a Fulcio CA
// issued to an OIDC identity (a CI workflow, a person). A rule trusts it
// when, offline:
//
//   - the certificate chains to a certificate authority of the trusted root;
//   - its OIDC issuer and subject match one of the rule's keyless identities
//     (exact values, or regular expressions that must match the whole
//     value);
//   - the signature verifies with the certificate's key over this digest;
//   - something the trusted root vouches for proves the certificate was
//     valid when it signed, since it expires minutes after being issued.
//
// For a Sigstore bundle that proof is a transparency-log entry or an RFC 3161
// timestamp, at least one. An entry of a log the root lists must verify (its
// signed entry timestamp or inclusion proof, and that it records this
// signature and certificate); its integrated time then counts if its signed
// entry timestamp vouches for it (an entry with an inclusion proof only
// needs a timestamp beside it). An entry of a log the root does not list
// cannot be checked offline and is skipped. A timestamp counts when an
// authority of the root signed it. The certificate must be valid at every
// time so verified. For a classic
// signature the proof is the transparency-log bundle annotation, required:
// its signed entry timestamp must verify with a log key of the root, its body
// must record this signature and certificate, and the certificate must be
// valid at its integrated time. A classic signature without it (cosign sign
// --tlog-upload=false) is refused, as its RFC 3161 timestamp annotation is
// not read. Signed certificate timestamps (certificate transparency) are not
// checked: the trust comes from the root's CA.
//
// It fails closed: a tag is never trusted, anything over a limit is an error,
// an artifact or commit that matches no trusted key or identity is refused,
// and every refusal is a typed error (ErrUnsigned, ErrUntrusted, …) that says
// what to do.
//
// It must never read its trust from the repository it protects, contact a
// transparency log, timestamp authority, CA or any service other than the
// artifact's registry, or import reconcile, schema or policy: it answers
// questions, the reconciler decides what to do with the answers.
package signing
