package signing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"
)

// CommitMode says which commits of a revision must be signed.
type CommitMode string

const (
	// CommitsHead verifies the commit each revision points at.
	CommitsHead CommitMode = "head"
	// CommitsStrict verifies every commit new since the last verified
	// revision: nobody can slip an unsigned commit under a signed one.
	CommitsStrict CommitMode = "strict"
	// CommitsOff verifies no commit.
	CommitsOff CommitMode = "off"
)

// CommitTrust is the commits section of the trust file: the mode and the
// keys that may sign commits.
type CommitTrust struct {
	Mode CommitMode

	openpgp openpgp.EntityList
	ssh     []allowedSigner
}

// Signer says who signed: the key that verified a signature and the identity
// the trust file gives it.
type Signer struct {
	// Identity is, for an artifact signed with a key, the key file as the
	// trust file names it; for a keyless signature, "SUBJECT (OIDC issuer
	// ISSUER)" as the signing certificate states them; for a commit, the
	// OpenPGP user id or the allowed-signers principals.
	Identity string `json:"identity"`
	// Method is "cosign-key", "keyless", "openpgp" or "ssh".
	Method string `json:"method"`
	// Key is the key's fingerprint: "sha256:<hex>" of the PKIX public key for
	// artifacts signed with a key, of the signing certificate (DER) for
	// keyless ones, the OpenPGP v4 fingerprint in upper-case hex, or the SSH
	// "SHA256:<base64>" fingerprint ssh-keygen -l prints.
	Key string `json:"key"`
	// Issuer and Subject are, for Method "keyless", the OIDC issuer and the
	// subject (the first URI or email subject alternative name) of the
	// signing certificate, verified to chain to the trusted root.
	Issuer  string `json:"issuer,omitempty"`
	Subject string `json:"subject,omitempty"`
}

// CommitVerdict is one verified commit.
type CommitVerdict struct {
	Commit plumbing.Hash
	Signer Signer
}

// maxRangeCommits bounds a strict walk: a revision that brings more new
// commits than this is refused rather than verified for minutes.
const maxRangeCommits = 1000

// VerifyCommit checks the signature of one commit against the trust,
// whatever its mode: an OpenPGP signature against the OpenPGP keys, an SSH
// signature (namespace "git") against the allowed signers. The signed bytes
// are the commit without its gpgsig header, exactly as Git signs them.
func VerifyCommit(c *object.Commit, trust CommitTrust) (Signer, error) {
	subject := "commit " + c.Hash.String()
	sig := strings.TrimSpace(c.PGPSignature)
	if sig == "" {
		return Signer{}, refusal(subject, ErrCommitUnsigned, "authored by %s; sign it (git commit -S) with a key the trust file lists", c.Author.String())
	}
	if strings.Count(sig, "-----BEGIN ") > 1 {
		return Signer{}, refusal(subject, ErrCommitUntrusted, "carries several signatures; sign it once")
	}
	payload := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(payload); err != nil {
		return Signer{}, fmt.Errorf("%s: encode for verification: %w", subject, err)
	}
	r, err := payload.Reader()
	if err != nil {
		return Signer{}, fmt.Errorf("%s: encode for verification: %w", subject, err)
	}
	message, err := io.ReadAll(r)
	if err != nil {
		return Signer{}, fmt.Errorf("%s: encode for verification: %w", subject, err)
	}
	switch {
	case strings.HasPrefix(sig, "-----BEGIN SSH SIGNATURE-----"):
		return verifySSHCommit(subject, message, sig, trust)
	case strings.HasPrefix(sig, "-----BEGIN PGP SIGNATURE-----"):
		return verifyOpenPGPCommit(subject, message, sig, trust)
	default:
		return Signer{}, refusal(subject, ErrCommitUntrusted, "its signature format is not supported; sign with OpenPGP or SSH")
	}
}

func verifyOpenPGPCommit(subject string, message []byte, sig string, trust CommitTrust) (Signer, error) {
	if len(trust.openpgp) == 0 {
		return Signer{}, refusal(subject, ErrCommitUntrusted, "signed with OpenPGP, but the trust file lists no OpenPGP key (commits.openpgp)")
	}
	entity, err := openpgp.CheckArmoredDetachedSignature(trust.openpgp, bytes.NewReader(message), strings.NewReader(sig), nil)
	if errors.Is(err, pgperrors.ErrUnknownIssuer) {
		return Signer{}, refusal(subject, ErrCommitUntrusted, "signed by an OpenPGP key the trust file does not list; add its public key to commits.openpgp if it is trusted")
	}
	if err != nil {
		return Signer{}, refusal(subject, ErrCommitUntrusted, "OpenPGP signature does not verify: %v", err)
	}
	identity := ""
	if id := entity.PrimaryIdentity(); id != nil {
		identity = id.Name
	}
	return Signer{Identity: identity, Method: "openpgp", Key: fmt.Sprintf("%X", entity.PrimaryKey.Fingerprint)}, nil
}

func verifySSHCommit(subject string, message []byte, sig string, trust CommitTrust) (Signer, error) {
	if len(trust.ssh) == 0 {
		return Signer{}, refusal(subject, ErrCommitUntrusted, "signed with SSH, but the trust file lists no allowed signers (commits.ssh)")
	}
	parsed, err := parseSSHSignature([]byte(sig))
	if err != nil {
		return Signer{}, refusal(subject, ErrCommitUntrusted, "%v", err)
	}
	if err := parsed.verify(message); err != nil {
		return Signer{}, refusal(subject, ErrCommitUntrusted, "%v", err)
	}
	fp := ssh.FingerprintSHA256(parsed.key)
	for _, s := range trust.ssh {
		if s.matches(parsed.key) {
			return Signer{Identity: s.principals, Method: "ssh", Key: fp}, nil
		}
	}
	return Signer{}, refusal(subject, ErrCommitUntrusted, "signed by SSH key %s, which no allowed signer (for namespace git) lists; add it to the allowed-signers file if it is trusted", fp)
}

// parseOpenPGPKeys reads one armored OpenPGP public key block (which may
// hold several keys).
func parseOpenPGPKeys(data []byte) (openpgp.EntityList, error) {
	block, err := armor.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, errors.New("is not an armored OpenPGP public key; export it with gpg --armor --export KEYID")
	}
	if block.Type != openpgp.PublicKeyType {
		return nil, fmt.Errorf("holds a %q block; export the public key with gpg --armor --export KEYID", block.Type)
	}
	keys, err := openpgp.ReadKeyRing(block.Body)
	if err != nil {
		return nil, fmt.Errorf("cannot read the OpenPGP key: %v", err)
	}
	if len(keys) == 0 {
		return nil, errors.New("holds no OpenPGP key")
	}
	return keys, nil
}

// VerifyRevision verifies what the mode asks of the revision to, given the
// last verified revision from (zero when there is none): nothing when off,
// the commit to when head, and every commit reachable from to but not from
// from when strict (see VerifyRange).
func VerifyRevision(repo *git.Repository, from, to plumbing.Hash, trust CommitTrust) ([]CommitVerdict, error) {
	switch trust.Mode {
	case CommitsOff:
		return nil, nil
	case CommitsHead:
		c, err := repo.CommitObject(to)
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", to, err)
		}
		s, err := VerifyCommit(c, trust)
		if err != nil {
			return nil, err
		}
		return []CommitVerdict{{Commit: to, Signer: s}}, nil
	case CommitsStrict:
		return VerifyRange(repo, from, to, trust)
	default:
		return nil, fmt.Errorf("commit trust mode %q is not head, strict or off", trust.Mode)
	}
}

// VerifyRange verifies every commit reachable from to and not from from
// (git's from..to; a zero from means all of to's history), oldest first, and
// stops at the first that does not verify, naming it. It needs that history
// in the repository (a shallow clone lacks it) and refuses a range of more
// than 1000 commits.
func VerifyRange(repo *git.Repository, from, to plumbing.Hash, trust CommitTrust) ([]CommitVerdict, error) {
	commits, err := newCommits(repo, from, to)
	if err != nil {
		return nil, err
	}
	verdicts := make([]CommitVerdict, 0, len(commits))
	for _, c := range commits {
		s, err := VerifyCommit(c, trust)
		if err != nil {
			return verdicts, fmt.Errorf("commits %s: first bad commit: %w", rangeName(from, to), err)
		}
		verdicts = append(verdicts, CommitVerdict{Commit: c.Hash, Signer: s})
	}
	return verdicts, nil
}

func rangeName(from, to plumbing.Hash) string {
	if from.IsZero() {
		return "up to " + to.String()
	}
	return from.String() + ".." + to.String()
}
