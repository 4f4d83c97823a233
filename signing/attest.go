package signing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/types"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	ocimutate "github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
)

const (
	inTotoPayloadType  = "application/vnd.in-toto+json"
	dsseLayerMediaType = "application/vnd.dsse.envelope.v1+json"
)

// Predicate is what an attestation states about an artifact.
type Predicate struct {
	// Type is the predicate type, a URI (https://slsa.dev/provenance/v1).
	Type string
	// JSON is the predicate, a JSON object.
	JSON []byte
}

// Attest attaches an in-toto statement of p about ref (pinned by digest),
// signed by k, in format, as `cosign attest --key --tlog-upload=false` does:
// a .att tag for FormatCosignSig, a bundle referrer for FormatSigstoreBundle.
func (k *Key) Attest(ctx context.Context, ref, format string, p Predicate, opts ...Option) error {
	predicateType, predicate := p.Type, p.JSON
	o := makeOptions(opts)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	d, err := pinnedForSigning(ref)
	if err != nil {
		return err
	}
	if err := checkPredicate(predicateType, predicate); err != nil {
		return err
	}
	switch format {
	case FormatCosignSig:
		err = k.attestClassic(ctx, d, o, predicateType, predicate)
	case FormatSigstoreBundle:
		err = k.writeBundle(ctx, d, o, predicateType, predicate)
	default:
		return fmt.Errorf("attestation format %q: use %s or %s", format, FormatSigstoreBundle, FormatCosignSig)
	}
	if err != nil {
		return fmt.Errorf("attest %s (%s): %w", ref, predicateType, err)
	}
	return nil
}

// checkPredicate refuses what no verifier would read.
func checkPredicate(predicateType string, predicate []byte) error {
	if predicateType == "" || strings.ContainsAny(predicateType, " \t\n") {
		return fmt.Errorf("predicate type %q: give a URI, e.g. https://slsa.dev/provenance/v1", predicateType)
	}
	if len(predicate) > maxPayload/2 {
		return fmt.Errorf("predicate of %s: %d bytes, at most %d", predicateType, len(predicate), maxPayload/2)
	}
	var v map[string]any
	if err := json.Unmarshal(predicate, &v); err != nil {
		return fmt.Errorf("predicate of %s is not a JSON object: %v", predicateType, err)
	}
	return nil
}

// statementAbout is an in-toto statement of predicateType about d.
func statementAbout(d name.Digest, predicateType string, predicate []byte) ([]byte, error) {
	return json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": d.Context().Name(), "digest": map[string]string{"sha256": strings.TrimPrefix(d.DigestStr(), "sha256:")}}},
		"predicateType": predicateType,
		"predicate":     json.RawMessage(predicate),
	})
}

// signedStatement is an in-toto statement of predicateType about d, and
// the DSSE envelope (JSON) k signs it in.
func (k *Key) signedStatement(d name.Digest, predicateType string, predicate []byte) (statement, envelope []byte, err error) {
	if statement, err = statementAbout(d, predicateType, predicate); err != nil {
		return nil, nil, err
	}
	envelope, err = dsse.WrapSigner(k.signer, inTotoPayloadType).SignMessage(bytes.NewReader(statement))
	return statement, envelope, err
}

func (k *Key) attestClassic(ctx context.Context, d name.Digest, o options, predicateType string, predicate []byte) error {
	_, env, err := k.signedStatement(d, predicateType, predicate)
	if err != nil {
		return err
	}
	att, err := static.NewAttestation(env, static.WithLayerMediaType(types.MediaType(dsseLayerMediaType)),
		static.WithAnnotations(map[string]string{"predicateType": predicateType}))
	if err != nil {
		return err
	}
	se, remoteOpts, err := signedEntity(ctx, d, o)
	if err != nil {
		return err
	}
	if se, err = ocimutate.AttachAttestationToEntity(se, att); err != nil {
		return err
	}
	return ociremote.WriteAttestations(d.Repository, se, remoteOpts...)
}

// writeBundle stores a statement signed by k as a Sigstore bundle referrer
// of d, with cosign's own bundle and referrer code (what cosign v3 sign and
// attest do): cosign's signature is the statement of predicate type
// https://sigstore.dev/cosign/sign/v1.
func (k *Key) writeBundle(ctx context.Context, d name.Digest, o options, predicateType string, predicate []byte) error {
	st, env, err := k.signedStatement(d, predicateType, predicate)
	if err != nil {
		return err
	}
	pub, err := k.publicKey()
	if err != nil {
		return err
	}
	b, err := cbundle.MakeNewBundle(pub, nil, st, env, k.PublicPEM, nil)
	if err != nil {
		return err
	}
	return ociremote.WriteAttestationNewBundleFormat(d, b, predicateType, ociremote.WithRemoteOptions(o.remote(ctx)...))
}
