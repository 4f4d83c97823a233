package signing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/durable-delivery/durable/internal/httpguard"
)

// Limits on what one verification considers. Each exists so that a hostile
// registry cannot make the reconciler spend unbounded time or memory; going
// over one is ErrLimit, never a pass.
const (
	// maxSignatures bounds the signatures considered per artifact and format
	// (layers of the .sig manifest; signature bundles among the referrers).
	maxSignatures = 32
	// maxAttestations bounds the attestations considered per artifact and
	// format (layers of the .att manifest; attestation bundles).
	maxAttestations = 32
	// maxPayload bounds one signature payload, DSSE envelope or bundle.
	maxPayload = 1 << 20
	// maxCached bounds the verdict cache; past it, entries are dropped.
	maxCached = 4096
)

// Format names how an artifact's signature is stored.
const (
	// FormatCosignSig is cosign's classic format: a sha256-<hex>.sig tag in
	// the artifact's repository whose layers are simple-signing payloads
	// signed in an annotation (and sha256-<hex>.att for attestations).
	FormatCosignSig = "cosign-sig"
	// FormatSigstoreBundle is a Sigstore bundle (message signature or DSSE
	// envelope) stored as an OCI referrer of the artifact, as cosign v3
	// writes by default.
	FormatSigstoreBundle = "sigstore-bundle"
)

// Verdict is the outcome of a successful verification.
type Verdict struct {
	// Ref is the artifact as verified, REPOSITORY@sha256:<hex>, with the
	// repository in canonical form (Docker Hub names gain index.docker.io/).
	Ref string `json:"ref"`
	// Digest is sha256:<hex>.
	Digest string `json:"digest"`
	// Rule is the match pattern of the trust rule that applied.
	Rule string `json:"rule"`
	// Signer is the trusted key or keyless identity that signed the artifact.
	Signer Signer `json:"signer"`
	// Format is FormatCosignSig or FormatSigstoreBundle.
	Format string `json:"format"`
	// VerifiedAt is when the registry was consulted (a cached verdict keeps
	// its first time).
	VerifiedAt time.Time `json:"verifiedAt"`
	// Attestations are the verified statements of the predicate types the
	// rule requires, in the rule's order.
	Attestations []Attestation `json:"attestations,omitempty"`
}

// Attestation is one verified in-toto attestation about the artifact.
type Attestation struct {
	PredicateType string `json:"predicateType"`
	// Statement is the in-toto statement exactly as signed.
	Statement json.RawMessage `json:"statement"`
	Signer    Signer          `json:"signer"`
	Format    string          `json:"format"`
}

// Option configures a Verifier or Resolve.
type Option func(*options)

type options struct {
	timeout   time.Duration
	keychain  authn.Keychain
	transport http.RoundTripper
}

// WithTimeout bounds one Verify or Resolve, all registry round trips
// included (default 30s).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithKeychain sets where registry credentials come from (default: the
// Docker configuration of the user running Durable, else anonymous).
func WithKeychain(k authn.Keychain) Option { return func(o *options) { o.keychain = k } }

// WithTransport sets the HTTP transport to registries (default: one with
// httpguard's timeouts, so a hung registry fails a verification). Registries on localhost and 127.0.0.0/8 are
// spoken to in plain HTTP, every other in HTTPS.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

func makeOptions(opts []Option) options {
	o := options{timeout: 30 * time.Second, keychain: authn.DefaultKeychain, transport: httpguard.Transport(httpguard.Defaults)}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// remote returns the registry options of one operation.
func (o options) remote(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(o.keychain),
		remote.WithTransport(o.transport),
		remote.WithUserAgent("durable"),
		// A few quick retries of 5xx and dropped connections; the reconciler
		// retries ErrUnreachable itself, later.
		remote.WithRetryBackoff(remote.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 3}),
	}
}

// Verifier verifies artifacts against one Trust. It is safe for concurrent
// use and remembers successful verdicts: the same digest, under the same
// rule, is not verified twice. Build a new Verifier when the trust file
// changes; a key removed from it is then untrusted at once.
type Verifier struct {
	trust *Trust
	opts  options

	mu    sync.Mutex
	cache map[string]Verdict // by repository@digest#rule; successes only
}

// NewVerifier returns a Verifier for trust.
func NewVerifier(trust *Trust, opts ...Option) (*Verifier, error) {
	if trust == nil {
		return nil, errors.New("signing: NewVerifier needs a trust (LoadTrust)")
	}
	for _, r := range trust.Artifacts {
		if len(r.Keyless) > 0 && r.sigstore == nil {
			return nil, fmt.Errorf("signing: the rule %s lists keyless identities without a trusted root; load the trust with LoadTrust", r.Match)
		}
	}
	return &Verifier{trust: trust, opts: makeOptions(opts), cache: map[string]Verdict{}}, nil
}

// Verify checks that ref, which must be pinned (REPOSITORY@sha256:<hex>), is
// signed by a key or a keyless identity of the first trust rule matching its
// repository, in either format, and carries every attestation the rule
// requires. Everything is checked offline, against the keys and the trusted
// root the trust file names: no transparency log, timestamp authority or CA
// is contacted. A keyless signature must carry its proof of time (a
// transparency-log entry or a signed timestamp, see the package
// documentation).
//
// A refusal wraps one of ErrNotPinned, ErrNoTrustRule, ErrUnsigned,
// ErrUntrusted, ErrDigestMismatch, ErrAttestationMissing, ErrLimit or
// ErrUnreachable.
func (v *Verifier) Verify(ctx context.Context, ref string) (Verdict, error) {
	d, err := parsePinned(ref)
	if err != nil {
		return Verdict{}, err
	}
	repo := d.Context().Name()
	index, rule, err := v.trust.rule(repo)
	if err != nil {
		return Verdict{}, err
	}
	key := repo + "@" + d.DigestStr() + "#" + strconv.Itoa(index)
	v.mu.Lock()
	cached, ok := v.cache[key]
	v.mu.Unlock()
	if ok {
		return cached, nil
	}

	ctx, cancel := context.WithTimeout(ctx, v.opts.timeout)
	defer cancel()
	check := &artifactCheck{ctx: ctx, opts: v.opts, digest: d, ref: repo + "@" + d.DigestStr(), rule: rule}
	verdict, err := check.run()
	if err != nil {
		return Verdict{}, err
	}

	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.cache) >= maxCached {
		for k := range v.cache {
			delete(v.cache, k)
			break
		}
	}
	v.cache[key] = verdict
	return verdict, nil
}

// parsePinned parses a reference that must carry a digest.
func parsePinned(ref string) (name.Digest, error) {
	if !strings.Contains(ref, "@") {
		return name.Digest{}, refusal(ref, ErrNotPinned, "an artifact is trusted by digest only; run durable pin to replace the tag with its digest")
	}
	d, err := name.NewDigest(ref)
	if err != nil {
		return name.Digest{}, fmt.Errorf("%s: not an OCI reference REPOSITORY@sha256:<64 hex digits>: %w", ref, err)
	}
	if !strings.HasPrefix(d.DigestStr(), "sha256:") {
		return name.Digest{}, refusal(ref, ErrNotPinned, "only sha256 digests are supported")
	}
	return d, nil
}

// artifactCheck is one verification in progress.
type artifactCheck struct {
	ctx    context.Context
	opts   options
	digest name.Digest
	hash   v1.Hash
	ref    string // repository@digest, for messages
	rule   *ArtifactRule

	manifest []byte // the artifact's manifest, fetched when a message signature needs it

	signatures int      // signatures seen, in any format, trusted or not
	mismatches []string // trusted signatures over another digest
	untrusted  []string // why signatures seen were not accepted

	attestations []Attestation // verified, of any predicate type
}

func (a *artifactCheck) run() (Verdict, error) {
	h, err := v1.NewHash(a.digest.DigestStr())
	if err != nil {
		return Verdict{}, fmt.Errorf("%s: %w", a.ref, err)
	}
	a.hash = h
	if _, err := remote.Head(a.digest, a.opts.remote(a.ctx)...); err != nil {
		if isNotFound(err) {
			return Verdict{}, fmt.Errorf("%s: the artifact is not in the registry; push it, or correct the digest", a.ref)
		}
		return Verdict{}, a.unreachable("look up the artifact", err)
	}
	verdict := Verdict{Ref: a.ref, Digest: h.String(), Rule: a.rule.Match}

	signer, err := a.classicSignature()
	if err != nil {
		return Verdict{}, err
	}
	verdict.Format = FormatCosignSig
	var bundles []*signedBundle
	if signer == nil || len(a.rule.Attestations) > 0 {
		if bundles, err = a.bundles(); err != nil {
			return Verdict{}, err
		}
	}
	if signer == nil {
		if signer, err = a.bundleSignature(bundles); err != nil {
			return Verdict{}, err
		}
		verdict.Format = FormatSigstoreBundle
	}
	if signer == nil {
		return Verdict{}, a.refuseSignature()
	}
	verdict.Signer = *signer

	if len(a.rule.Attestations) > 0 {
		if err := a.classicAttestations(); err != nil {
			return Verdict{}, err
		}
		if err := a.bundleAttestations(bundles); err != nil {
			return Verdict{}, err
		}
		var missing []string
		for _, want := range a.rule.Attestations {
			found := false
			for _, got := range a.attestations {
				if got.PredicateType == want {
					verdict.Attestations = append(verdict.Attestations, got)
					found = true
					break
				}
			}
			if !found {
				missing = append(missing, want)
			}
		}
		if len(missing) > 0 {
			return Verdict{}, refusal(a.ref, ErrAttestationMissing, "no attestation of predicate type %s signed by a key or keyless identity of the rule %s (%s); attest it with cosign attest --type PREDICATE_TYPE (with --key KEY, or keyless)", strings.Join(missing, ", "), a.rule.Match, a.rule.At)
		}
	}
	verdict.VerifiedAt = time.Now().UTC()
	return verdict, nil
}

// refuseSignature explains why no signature was accepted.
func (a *artifactCheck) refuseSignature() error {
	switch {
	case len(a.mismatches) > 0:
		return refusal(a.ref, ErrDigestMismatch, "%s; the signature was copied from another artifact, or the artifact changed after signing", a.mismatches[0])
	case a.signatures == 0:
		how := "cosign sign --key KEY " + a.ref
		if len(a.rule.Keys) == 0 {
			how = "cosign sign " + a.ref + " (keyless, as an identity the rule lists)"
		}
		return refusal(a.ref, ErrUnsigned, "no cosign signature (tag %s) and no Sigstore bundle referrer; sign it with %s", a.signatureTagName(), how)
	default:
		detail := ""
		if len(a.untrusted) > 0 {
			detail = " (" + a.untrusted[0] + ")"
		}
		return refusal(a.ref, ErrUntrusted, "%d signature(s) found, none by a key or keyless identity of the rule %s at %s%s; sign with a listed key or identity, or add the signer to the rule", a.signatures, a.rule.Match, a.rule.At, detail)
	}
}

func (a *artifactCheck) signatureTagName() string {
	return strings.Replace(a.hash.String(), ":", "-", 1) + ".sig"
}

// unreachable wraps a registry failure as ErrUnreachable.
func (a *artifactCheck) unreachable(doing string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(a.ctx.Err(), context.DeadlineExceeded) {
		return refusal(a.ref, ErrUnreachable, "%s: the registry did not answer in time: %v; retry later", doing, err)
	}
	return refusal(a.ref, ErrUnreachable, "%s: %v; retry later", doing, err)
}

// isNotFound reports a registry's 404.
func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}
