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

// classicSignature looks for a signature by a trusted key in cosign's
// classic format (the sha256-<hex>.sig tag). It returns nil, nil when none is
// accepted, having recorded what it saw for refuseSignature.
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
	var claim payload.SimpleContainerImage
	if err := json.Unmarshal(p, &claim); err != nil {
		return "a payload that is not a cosign claim", true
	}
	return claim.Critical.Image.DockerManifestDigest, true
}

// classicAttestations collects the attestations of the sha256-<hex>.att tag
// that a trusted key signed about this digest.
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
	}
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
