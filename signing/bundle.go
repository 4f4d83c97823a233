package signing

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

const (
	// bundleMediaTypePrefix starts the media type of every Sigstore bundle
	// version (application/vnd.dev.sigstore.bundle.v0.3+json, …).
	bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"
	// emptyMediaType is the config media type of OCI 1.1 artifacts; a
	// registry that does not report the manifest's artifactType (such as
	// go-containerregistry's) lists referrers under it.
	emptyMediaType = "application/vnd.oci.empty.v1+json"
	// cosignSignPredicateType marks a DSSE bundle that is cosign's image
	// signature rather than an attestation.
	cosignSignPredicateType = "https://sigstore.dev/cosign/sign/v1"
)

// signedBundle is a Sigstore bundle found among the artifact's referrers.
type signedBundle struct {
	digest        string // of the referrer manifest, for messages
	bundle        *bundle.Bundle
	cert          *x509.Certificate // the signing certificate of a keyless bundle; nil for a key
	message       bool              // a message signature over the artifact's manifest
	predicateType string            // of the DSSE statement
	statement     json.RawMessage
}

// isSignature reports whether the bundle signs the artifact (as opposed to
// attesting something about it).
func (b *signedBundle) isSignature() bool {
	return b.message || b.predicateType == cosignSignPredicateType
}

// bundles lists the Sigstore bundles among the artifact's referrers,
// refusing more than the limits allow before reading any.
func (a *artifactCheck) bundles() ([]*signedBundle, error) {
	idx, err := remote.Referrers(a.digest, a.opts.remote(a.ctx)...)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, a.unreachable("list referrers", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, a.unreachable("list referrers", err)
	}
	var candidates []string
	for _, d := range im.Manifests {
		switch {
		case strings.HasPrefix(d.ArtifactType, bundleMediaTypePrefix), d.ArtifactType == "", d.ArtifactType == emptyMediaType:
			candidates = append(candidates, d.Digest.String())
		}
	}
	if len(candidates) > maxSignatures+maxAttestations {
		return nil, refusal(a.ref, ErrLimit, "%d Sigstore bundle referrers; at most %d are considered", len(candidates), maxSignatures+maxAttestations)
	}
	var out []*signedBundle
	nsig, natt := 0, 0
	for _, digest := range candidates {
		b, err := a.fetchBundle(digest)
		if err != nil {
			return nil, err
		}
		if b == nil {
			continue
		}
		if b.isSignature() {
			nsig++
		} else {
			natt++
		}
		out = append(out, b)
	}
	if nsig > maxSignatures {
		return nil, refusal(a.ref, ErrLimit, "%d signature bundles; at most %d are considered", nsig, maxSignatures)
	}
	if natt > maxAttestations {
		return nil, refusal(a.ref, ErrLimit, "%d attestation bundles; at most %d are considered", natt, maxAttestations)
	}
	return out, nil
}

// fetchBundle reads one referrer; nil, nil when it is not a Sigstore bundle
// about this artifact.
func (a *artifactCheck) fetchBundle(digest string) (*signedBundle, error) {
	img, err := remote.Image(a.digest.Context().Digest(digest), a.opts.remote(a.ctx)...)
	if err != nil {
		return nil, a.unreachable("fetch referrer "+digest, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, a.unreachable("fetch referrer "+digest, err)
	}
	if len(m.Layers) != 1 || !strings.HasPrefix(string(m.Layers[0].MediaType), bundleMediaTypePrefix) {
		return nil, nil
	}
	if m.Subject == nil || m.Subject.Digest != a.hash {
		return nil, nil
	}
	if m.Layers[0].Size > maxPayload {
		return nil, refusal(a.ref, ErrLimit, "referrer %s holds a bundle of %d bytes; at most %d are considered", digest, m.Layers[0].Size, maxPayload)
	}
	layer, err := img.LayerByDigest(m.Layers[0].Digest)
	if err != nil {
		return nil, a.unreachable("fetch bundle of referrer "+digest, err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, a.unreachable("fetch bundle of referrer "+digest, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxPayload+1))
	if err != nil {
		return nil, a.unreachable("fetch bundle of referrer "+digest, err)
	}
	sb := &signedBundle{digest: digest, bundle: &bundle.Bundle{}}
	if err := sb.bundle.UnmarshalJSON(data); err != nil {
		// A broken bundle still counts as a signature seen: the artifact is
		// then untrusted rather than unsigned.
		a.signatures++
		a.untrusted = append(a.untrusted, fmt.Sprintf("referrer %s is not a valid Sigstore bundle: %v", digest, err))
		return nil, nil
	}
	if vc, err := sb.bundle.VerificationContent(); err == nil {
		sb.cert = vc.Certificate()
	}
	switch {
	case sb.bundle.GetMessageSignature() != nil:
		sb.message = true
	case sb.bundle.GetDsseEnvelope() != nil:
		env := sb.bundle.GetDsseEnvelope()
		st, pt, err := statementOf(env.GetPayloadType(), env.GetPayload())
		if err != nil {
			a.untrusted = append(a.untrusted, fmt.Sprintf("referrer %s: %v", digest, err))
			return nil, nil
		}
		sb.statement, sb.predicateType = st, pt
	default:
		return nil, nil
	}
	return sb, nil
}

// bundleSignature looks for a signature bundle verified by a trusted key or
// keyless identity.
func (a *artifactCheck) bundleSignature(bundles []*signedBundle) (*Signer, error) {
	for _, b := range bundles {
		if !b.isSignature() {
			continue
		}
		a.signatures++
		policy, err := a.artifactPolicy(b)
		if err != nil {
			return nil, err
		}
		if b.cert != nil {
			if signer := a.bundleKeyless(b, policy); signer != nil {
				return signer, nil
			}
			continue
		}
		for _, key := range a.rule.Keys {
			for _, kv := range key.verifiers {
				if err := verifyBundle(b.bundle, kv, policy()); err == nil {
					return &Signer{Identity: key.File, Method: "cosign-key", Key: key.Fingerprint}, nil
				}
				withKey := func(p verify.ArtifactPolicyOption) error { return verifyBundle(b.bundle, kv, p) }
				if claimed, ok := bundleSignedButFor(b, withKey); ok && claimed != a.hash.String() {
					a.mismatches = append(a.mismatches, fmt.Sprintf("bundle %s, signed by %s (%s), is for %s, not %s", b.digest, key.File, key.Fingerprint, claimed, a.hash))
				}
			}
		}
		a.untrusted = append(a.untrusted, fmt.Sprintf("bundle %s is not signed by a key of the rule", b.digest))
	}
	return nil, nil
}

// bundleKeyless verifies a signature bundle that carries a certificate
// against the rule's keyless identities, recording why it is not accepted.
func (a *artifactCheck) bundleKeyless(b *signedBundle, policy func() verify.ArtifactPolicyOption) *Signer {
	who := describeCertificate(b.cert)
	if len(a.rule.Keyless) == 0 {
		a.untrusted = append(a.untrusted, fmt.Sprintf("bundle %s is a keyless signature, by %s, and the rule lists no keyless identity", b.digest, who))
		return nil
	}
	if why := a.rule.sigstore.timeProof(b.bundle); why != "" {
		a.untrusted = append(a.untrusted, fmt.Sprintf("bundle %s, by %s: %s", b.digest, who, why))
		return nil
	}
	res, err := a.verifyKeyless(b, policy(), a.rule.identities()...)
	if err == nil {
		return signerOf(b.cert, *res.Signature.Certificate)
	}
	// Why not: a trusted identity signed another artifact; or the bundle
	// verifies but names no identity of the rule; or it does not verify.
	trusted := func(p verify.ArtifactPolicyOption) error {
		_, err := a.verifyKeyless(b, p, a.rule.identities()...)
		return err
	}
	if claimed, ok := bundleSignedButFor(b, trusted); ok && claimed != a.hash.String() {
		a.mismatches = append(a.mismatches, fmt.Sprintf("bundle %s, signed by %s, is for %s, not %s", b.digest, who, claimed, a.hash))
		return nil
	}
	if _, anyone := a.verifyKeyless(b, policy(), verify.WithoutIdentitiesUnsafe()); anyone == nil {
		a.untrusted = append(a.untrusted, fmt.Sprintf("bundle %s is signed by %s, which is no keyless identity of the rule (%s)", b.digest, who, a.rule.keylessNames()))
		return nil
	}
	if why := a.rule.sigstore.foreign(b.cert); why != "" {
		a.untrusted = append(a.untrusted, fmt.Sprintf("bundle %s, by %s: %s", b.digest, who, why))
		return nil
	}
	a.untrusted = append(a.untrusted, fmt.Sprintf("bundle %s, by %s, does not verify against the trusted root %s: %v", b.digest, who, a.rule.sigstore.file, err))
	return nil
}

// verifyKeyless verifies a keyless bundle offline against the trusted root
// (see sigstoreRoot.verifier for what is required of it), for the artifact
// and identities given.
func (a *artifactCheck) verifyKeyless(b *signedBundle, artifact verify.ArtifactPolicyOption, identities ...verify.PolicyOption) (*verify.VerificationResult, error) {
	v, err := a.rule.sigstore.verifier(b.bundle)
	if err != nil {
		return nil, err
	}
	return v.Verify(b.bundle, verify.NewPolicy(artifact, identities...))
}

// bundleAttestations collects the attestation bundles a trusted key or
// keyless identity signed about this digest.
func (a *artifactCheck) bundleAttestations(bundles []*signedBundle) error {
	for _, b := range bundles {
		if b.isSignature() {
			continue
		}
		policy, err := a.artifactPolicy(b)
		if err != nil {
			return err
		}
		if b.cert != nil {
			if len(a.rule.Keyless) == 0 || a.rule.sigstore.timeProof(b.bundle) != "" {
				continue
			}
			if res, err := a.verifyKeyless(b, policy(), a.rule.identities()...); err == nil {
				a.attestations = append(a.attestations, Attestation{
					PredicateType: b.predicateType,
					Statement:     b.statement,
					Signer:        *signerOf(b.cert, *res.Signature.Certificate),
					Format:        FormatSigstoreBundle,
				})
			}
			continue
		}
	keys:
		for _, key := range a.rule.Keys {
			for _, kv := range key.verifiers {
				if verifyBundle(b.bundle, kv, policy()) == nil {
					a.attestations = append(a.attestations, Attestation{
						PredicateType: b.predicateType,
						Statement:     b.statement,
						Signer:        Signer{Identity: key.File, Method: "cosign-key", Key: key.Fingerprint},
						Format:        FormatSigstoreBundle,
					})
					break keys
				}
			}
		}
	}
	return nil
}

// artifactPolicy binds a bundle's verification to this artifact: a DSSE
// statement must name its digest as subject; a message signature must sign
// its manifest, which is fetched (and checked against the digest) for it.
// Each call of the returned function gives a fresh policy, as one reads the
// manifest.
func (a *artifactCheck) artifactPolicy(b *signedBundle) (func() verify.ArtifactPolicyOption, error) {
	if !b.message {
		raw, err := hex.DecodeString(a.hash.Hex)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.ref, err)
		}
		return func() verify.ArtifactPolicyOption { return verify.WithArtifactDigest(a.hash.Algorithm, raw) }, nil
	}
	if a.manifest == nil {
		desc, err := remote.Get(a.digest, a.opts.remote(a.ctx)...)
		if err != nil {
			return nil, a.unreachable("fetch the artifact's manifest", err)
		}
		a.manifest = desc.Manifest
	}
	return func() verify.ArtifactPolicyOption { return verify.WithArtifact(bytes.NewReader(a.manifest)) }, nil
}

// verifyBundle verifies a bundle with one key, offline: no transparency log
// entry or timestamp is required, and a certificate is refused.
func verifyBundle(b *bundle.Bundle, kv signature.Verifier, policy verify.ArtifactPolicyOption) error {
	material := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(kv, time.Time{}, time.Time{}), nil
	})
	v, err := verify.NewVerifier(material, verify.WithNoObserverTimestamps())
	if err != nil {
		return err
	}
	_, err = v.Verify(b, verify.NewPolicy(policy, verify.WithKey()))
	return err
}

// bundleSignedButFor reports whether check accepts the bundle's signature
// (made by a trusted key or identity) whatever artifact it is about, and
// which digest it signs: the statement's subject for a DSSE envelope, the
// message digest for a message signature.
func bundleSignedButFor(b *signedBundle, check func(verify.ArtifactPolicyOption) error) (string, bool) {
	if !b.message {
		if check(verify.WithoutArtifactUnsafe()) != nil {
			return "", false
		}
		var st struct {
			Subject []struct {
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
		}
		if json.Unmarshal(b.statement, &st) != nil || len(st.Subject) == 0 {
			return "a statement without subject", true
		}
		for alg, value := range st.Subject[0].Digest {
			return alg + ":" + value, true
		}
		return "a subject without digest", true
	}
	md := b.bundle.GetMessageSignature().GetMessageDigest()
	alg := map[protocommon.HashAlgorithm]string{
		protocommon.HashAlgorithm_SHA2_256: "sha256",
		protocommon.HashAlgorithm_SHA2_384: "sha384",
		protocommon.HashAlgorithm_SHA2_512: "sha512",
	}[md.GetAlgorithm()]
	if alg == "" || check(verify.WithArtifactDigest(alg, md.GetDigest())) != nil {
		return "", false
	}
	return alg + ":" + hex.EncodeToString(md.GetDigest()), true
}
