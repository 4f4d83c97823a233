package signing

import (
	"errors"
	"fmt"
	"strings"
)

// The kinds of refusal. Every error Verify, Resolve and the commit checks
// return wraps at most one of them, so that a caller can tell with errors.Is
// whether to retry (ErrUnreachable), to ask a person to sign or pin
// (ErrUnsigned, ErrNotPinned), or to treat the artifact as hostile
// (ErrUntrusted, ErrDigestMismatch, ErrLimit).
var (
	// ErrNotPinned: the reference names a tag, not a digest.
	ErrNotPinned = errors.New("not pinned by digest")
	// ErrNoTrustRule: no artifact rule of the trust file matches the repository.
	ErrNoTrustRule = errors.New("no trust rule matches")
	// ErrUnsigned: the artifact carries no signature at all, in either format.
	ErrUnsigned = errors.New("not signed")
	// ErrUntrusted: the artifact is signed, but by no key or keyless
	// identity its rule trusts. A keyless signature whose certificate does
	// not chain to the trusted root, or that cannot prove when it was made,
	// is untrusted too.
	ErrUntrusted = errors.New("signed by no trusted key or identity")
	// ErrDigestMismatch: a trusted key signed a claim about another digest
	// (for example a signature copied from another artifact).
	ErrDigestMismatch = errors.New("signature is for another digest")
	// ErrAttestationMissing: a predicate type the rule requires has no
	// attestation verified by a trusted key.
	ErrAttestationMissing = errors.New("required attestation missing")
	// ErrUnreachable: the registry could not be reached or did not answer in
	// time; the verdict is unknown and the check may be retried.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrLimit: the artifact carries more signatures or attestations, or a
	// larger payload, than Durable considers. Never a pass.
	ErrLimit = errors.New("over a verification limit")
	// ErrCommitUnsigned: a commit carries no signature.
	ErrCommitUnsigned = errors.New("commit is not signed")
	// ErrCommitUntrusted: a commit's signature is invalid or made by a key the
	// trust file does not list.
	ErrCommitUntrusted = errors.New("commit is not signed by a trusted key")
)

// refusal wraps kind with the subject it concerns and a detail that says what
// to do about it: "REF: KIND: DETAIL".
func refusal(subject string, kind error, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", subject, kind, fmt.Sprintf(format, args...))
}

// TrustError is one problem in the trust file or in a file it names,
// positioned for an editor. Line and Col are 1-based; both are zero when the
// problem concerns a whole file (a missing file, for instance).
type TrustError struct {
	File    string
	Line    int
	Col     int
	Message string
}

// Error renders the problem as file:line:col: message.
func (e TrustError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Message
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Message)
}

// TrustErrors is every problem found while loading a trust file, in file
// order.
type TrustErrors []TrustError

// Error renders one problem per line.
func (es TrustErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
