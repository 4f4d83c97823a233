package signing

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// classicSignature looks for a signature by a trusted key or keyless
// identity in cosign's classic format (the sha256-<hex>.sig tag). It returns
// nil, nil when none is accepted, having recorded what it saw for
// refuseSignature.
func (a *artifactCheck) classicSignature() (*Signer, error) {
	tag, err := ociremote.SignatureTag(a.digest)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.ref, err)
	}
	sigs, err := a.fetchTagged(tag, "signatures", maxSignatures)
	if err != nil {
		return nil, err
	}
	for _, sig := range sigs {
		a.signatures++
		for _, key := range a.rule.Keys {
			for _, kv := range key.verifiers {
				// cosign decides acceptance: the signature over the payload,
				// then the payload's claim about the digest.
				_, err := cosign.VerifyImageSignature(a.ctx, sig, a.hash, &cosign.CheckOpts{
					SigVerifier:   kv,
					IgnoreTlog:    true,
					IgnoreSCT:     true,
					Offline:       true,
					ClaimVerifier: cosign.SimpleClaimVerifier,
				})
				if err == nil {
					return &Signer{Identity: key.File, Method: "cosign-key", Key: key.Fingerprint}, nil
				}
				if claimed, ok := signedByButFor(sig, kv); ok {
					a.mismatches = append(a.mismatches, fmt.Sprintf("a signature by %s (%s) is for %s, not %s", key.File, key.Fingerprint, claimed, a.hash))
				}
			}
		}
		if signer := a.classicKeyless(sig); signer != nil {
			return signer, nil
		}
	}
	if len(sigs) > 0 {
		a.untrusted = append(a.untrusted, fmt.Sprintf("tag %s holds %d signature(s)", tag.TagStr(), len(sigs)))
	}
	return nil, nil
}

// signedByButFor reports whether sig is a valid signature by kv whose
// payload claims another digest, and which.
func signedByButFor(sig oci.Signature, kv signature.Verifier) (string, bool) {
	b64, err := sig.Base64Signature()
	if err != nil {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", false
	}
	p, err := sig.Payload()
	if err != nil {
		return "", false
	}
	if kv.VerifySignature(bytes.NewReader(raw), bytes.NewReader(p)) != nil {
		return "", false
	}
	return claimedDigest(p), true
}

// claimedDigest is the digest a simple-signing payload claims to sign.
func claimedDigest(p []byte) string {
	var claim payload.SimpleContainerImage
	if err := json.Unmarshal(p, &claim); err != nil {
		return "a payload that is not a cosign claim"
	}
	return claim.Critical.Image.DockerManifestDigest
}

// keylessCheckOpts are cosign's options for a classic signature that
// carries a certificate: the certificate must chain to a Fulcio CA of the
// trusted root; the transparency-log bundle annotation must be present
// (Offline: cosign refuses a signature without one rather than asking
// Rekor), its signed entry timestamp must verify with a Rekor key of the
// root and its body must record this signature and certificate; and the
// certificate must have been valid at the entry's integrated time. SCTs are
// not checked (IgnoreSCT): the certificate's trust comes from the root's CA.
func keylessCheckOpts(s *sigstoreRoot) *cosign.CheckOpts {
	return &cosign.CheckOpts{TrustedMaterial: s.material, IgnoreSCT: true, Offline: true}
}

// classicKeyless verifies a classic signature that carries a certificate
// (cosign's keyless format: the dev.sigstore.cosign/certificate, chain and
// bundle annotations) against the rule's keyless identities, recording why
// it is not accepted.
func (a *artifactCheck) classicKeyless(sig oci.Signature) *Signer {
	cert, err := sig.Cert()
	if err != nil {
		a.untrusted = append(a.untrusted, fmt.Sprintf("a signature's certificate annotation is unreadable: %v", err))
		return nil
	}
	if cert == nil {
		return nil
	}
	who := describeCertificate(cert)
	if len(a.rule.Keyless) == 0 {
		a.untrusted = append(a.untrusted, fmt.Sprintf("a keyless signature, by %s, and the rule lists no keyless identity", who))
		return nil
	}
	if b, err := sig.Bundle(); err != nil || b == nil {
		a.untrusted = append(a.untrusted, fmt.Sprintf("the signature by %s carries no transparency-log bundle (annotation dev.sigstore.cosign/bundle), so nothing offline proves the short-lived certificate was valid when it signed; sign with the transparency log (not --tlog-upload=false)", who))
		return nil
	}
	// The claim is checked last, by hand, to tell a trusted signature of
	// another digest (ErrDigestMismatch) from an untrusted one.
	if _, err := cosign.VerifyImageSignature(a.ctx, sig, a.hash, keylessCheckOpts(a.rule.sigstore)); err != nil {
		if why := a.rule.sigstore.foreign(cert); why != "" {
			a.untrusted = append(a.untrusted, fmt.Sprintf("the signature by %s: %s", who, why))
			return nil
		}
		a.untrusted = append(a.untrusted, fmt.Sprintf("the signature by %s does not verify against the trusted root %s: %v", who, a.rule.sigstore.file, err))
		return nil
	}
	signer, ok := a.rule.keylessSigner(cert)
	if !ok {
		a.untrusted = append(a.untrusted, fmt.Sprintf("signed by %s, which is no keyless identity of the rule (%s)", who, a.rule.keylessNames()))
		return nil
	}
	if err := cosign.SimpleClaimVerifier(sig, a.hash, nil); err != nil {
		p, _ := sig.Payload()
		a.mismatches = append(a.mismatches, fmt.Sprintf("a signature by %s is for %s, not %s", signer.Identity, claimedDigest(p), a.hash))
		return nil
	}
	return signer
}

// classicAttestations collects the attestations of the sha256-<hex>.att tag
// that a trusted key or keyless identity signed about this digest.
func (a *artifactCheck) classicAttestations() error {
	tag, err := ociremote.AttestationTag(a.digest)
	if err != nil {
		return fmt.Errorf("%s: %w", a.ref, err)
	}
	atts, err := a.fetchTagged(tag, "attestations", maxAttestations)
	if err != nil {
		return err
	}
	for _, att := range atts {
		before := len(a.attestations)
	keys:
		for _, key := range a.rule.Keys {
			for _, kv := range key.verifiers {
				// VerifyBlobAttestation checks one DSSE envelope: its
				// signature, then that its statement's subject is a.hash.
				_, err := cosign.VerifyBlobAttestation(a.ctx, att, a.hash, &cosign.CheckOpts{
					SigVerifier:   kv,
					IgnoreTlog:    true,
					IgnoreSCT:     true,
					Offline:       true,
					ClaimVerifier: cosign.IntotoSubjectClaimVerifier,
				})
				if err != nil {
					continue
				}
				env, err := att.Payload()
				if err != nil {
					return a.unreachable("read an attestation", err)
				}
				statement, predicateType, err := envelopeStatement(env)
				if err != nil {
					break keys
				}
				a.attestations = append(a.attestations, Attestation{
					PredicateType: predicateType,
					Statement:     statement,
					Signer:        Signer{Identity: key.File, Method: "cosign-key", Key: key.Fingerprint},
					Format:        FormatCosignSig,
				})
				break keys
			}
		}
		if len(a.attestations) > before {
			continue
		}
		if err := a.classicKeylessAttestation(att); err != nil {
			return err
		}
	}
	return nil
}

// classicKeylessAttestation collects a classic attestation that carries a
// certificate of a keyless identity of the rule, verified as
// classicKeyless verifies signatures.
func (a *artifactCheck) classicKeylessAttestation(att oci.Signature) error {
	if len(a.rule.Keyless) == 0 {
		return nil
	}
	cert, err := att.Cert()
	if err != nil || cert == nil {
		return nil
	}
	co := keylessCheckOpts(a.rule.sigstore)
	co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	if _, err := cosign.VerifyBlobAttestation(a.ctx, att, a.hash, co); err != nil {
		return nil
	}
	signer, ok := a.rule.keylessSigner(cert)
	if !ok {
		return nil
	}
	env, err := att.Payload()
	if err != nil {
		return a.unreachable("read an attestation", err)
	}
	statement, predicateType, err := envelopeStatement(env)
	if err != nil {
		return nil
	}
	a.attestations = append(a.attestations, Attestation{PredicateType: predicateType, Statement: statement, Signer: *signer, Format: FormatCosignSig})
	return nil
}

// fetchTagged reads the layers of a cosign signature or attestation tag,
// refusing more than limit layers or a layer over maxPayload before reading
// any payload, and returns them in memory. A missing tag is no layers.
func (a *artifactCheck) fetchTagged(tag name.Tag, what string, limit int) ([]oci.Signature, error) {
	sigs, err := ociremote.Signatures(tag, ociremote.WithRemoteOptions(a.opts.remote(a.ctx)...))
	if err != nil {
		return nil, a.unreachable("fetch "+what+" tag "+tag.TagStr(), err)
	}
	m, err := sigs.Manifest()
	if err != nil {
		return nil, a.unreachable("fetch "+what+" tag "+tag.TagStr(), err)
	}
	if len(m.Layers) > limit {
		return nil, refusal(a.ref, ErrLimit, "tag %s holds %d %s; at most %d are considered (remove stale ones: cosign clean)", tag.TagStr(), len(m.Layers), what, limit)
	}
	for _, l := range m.Layers {
		if l.Size > maxPayload {
			return nil, refusal(a.ref, ErrLimit, "tag %s holds a payload of %d bytes; at most %d are considered", tag.TagStr(), l.Size, maxPayload)
		}
	}
	list, err := sigs.Get()
	if err != nil {
		return nil, a.unreachable("fetch "+what+" tag "+tag.TagStr(), err)
	}
	out := make([]oci.Signature, 0, len(list))
	for _, s := range list {
		// Copy reads the payload once, so that trying several keys does
		// not fetch it again.
		c, err := static.Copy(s)
		if err != nil {
			return nil, a.unreachable("fetch "+what+" of tag "+tag.TagStr(), err)
		}
		out = append(out, c)
	}
	return out, nil
}

// envelopeStatement returns the in-toto statement of a DSSE envelope (JSON)
// and its predicate type.
func envelopeStatement(envelope []byte) (json.RawMessage, string, error) {
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     []byte `json:"payload"`
	}
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil, "", fmt.Errorf("not a DSSE envelope: %w", err)
	}
	return statementOf(env.PayloadType, env.Payload)
}

// statementOf checks that a DSSE payload is an in-toto statement and returns
// it with its predicate type.
func statementOf(payloadType string, body []byte) (json.RawMessage, string, error) {
	if payloadType != "application/vnd.in-toto+json" {
		return nil, "", fmt.Errorf("DSSE payload type %q is not an in-toto statement", payloadType)
	}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, "", fmt.Errorf("in-toto statement is not JSON: %w", err)
	}
	if st.PredicateType == "" {
		return nil, "", fmt.Errorf("in-toto statement has no predicateType")
	}
	return json.RawMessage(body), st.PredicateType, nil
}
