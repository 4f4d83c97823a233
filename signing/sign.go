package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ocimutate "github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// Key is a signing key made on this host: for the demo and for tests that
// sign what they build, as a release pipeline would with cosign.
type Key struct {
	signer signature.SignerVerifier
	// PublicPEM is the public key, as a trust file names it.
	PublicPEM []byte
}

// NewKey makes an ECDSA P-256 key, cosign's default kind.
func NewKey() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return keyOf(sv)
}

// WritePublic writes the public key to a file.
func (k *Key) WritePublic(file string) error { return os.WriteFile(file, k.PublicPEM, 0o644) }

// Sign signs the image ref (pinned by digest) the way `cosign sign --key`
// does in its classic format: a simple-signing payload naming the digest,
// pushed as the `sha256-<hex>.sig` tag.
func (k *Key) Sign(ctx context.Context, ref string, opts ...Option) error {
	return k.SignAs(ctx, ref, FormatCosignSig, opts...)
}

// SignAs signs ref in format: FormatCosignSig (the .sig tag), or
// FormatSigstoreBundle (a DSSE bundle referrer, as cosign v3 signs). Both
// are offline: nothing goes to a transparency log.
func (k *Key) SignAs(ctx context.Context, ref, format string, opts ...Option) error {
	o := makeOptions(opts)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	d, err := pinnedForSigning(ref)
	if err != nil {
		return err
	}
	switch format {
	case FormatCosignSig:
		err = k.signClassic(ctx, d, o)
	case FormatSigstoreBundle:
		err = k.writeBundle(ctx, d, o, cosignSignPredicateType, []byte("{}"))
	default:
		return fmt.Errorf("signature format %q: use %s or %s", format, FormatSigstoreBundle, FormatCosignSig)
	}
	if err != nil {
		return fmt.Errorf("sign %s: %w", ref, err)
	}
	return nil
}

func pinnedForSigning(ref string) (name.Digest, error) {
	d, err := name.NewDigest(ref)
	if err != nil {
		return name.Digest{}, fmt.Errorf("%s: %w: sign a reference written REPOSITORY@sha256:<digest> (durable pack prints it)", ref, ErrNotPinned)
	}
	return d, nil
}

func (k *Key) signClassic(ctx context.Context, d name.Digest, o options) error {
	p, err := (&payload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		return err
	}
	sig, err := k.signer.SignMessage(bytes.NewReader(p))
	if err != nil {
		return err
	}
	ociSig, err := static.NewSignature(p, base64.StdEncoding.EncodeToString(sig))
	if err != nil {
		return err
	}
	se, remoteOpts, err := signedEntity(ctx, d, o)
	if err != nil {
		return err
	}
	if se, err = ocimutate.AttachSignatureToEntity(se, ociSig); err != nil {
		return err
	}
	if err := ociremote.WriteSignatures(d.Repository, se, remoteOpts...); err != nil {
		return fmt.Errorf("push the signature: %w", err)
	}
	return nil
}

// signedEntity is d as the registry holds it, with what it carries already,
// and the options that reach that registry.
func signedEntity(ctx context.Context, d name.Digest, o options) (oci.SignedEntity, []ociremote.Option, error) {
	remoteOpts := []ociremote.Option{ociremote.WithRemoteOptions(o.remote(ctx)...)}
	se, err := ociremote.SignedEntity(d, remoteOpts...)
	if err != nil {
		return nil, nil, err
	}
	return se, remoteOpts, nil
}
