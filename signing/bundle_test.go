package signing

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const bundleV03 = "application/vnd.dev.sigstore.bundle.v0.3+json"

// messageBundle builds, by hand, a Sigstore bundle v0.3 holding a message
// signature by k over the manifest of signed.
func messageBundle(t *testing.T, k testKey, signed name.Digest) []byte {
	t.Helper()
	desc, err := remote.Get(signed)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := k.sv.SignMessage(bytes.NewReader(desc.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.public)
	if err != nil {
		t.Fatal(err)
	}
	hint := sha256.Sum256(der)
	digest := sha256.Sum256(desc.Manifest)
	b, err := json.Marshal(map[string]any{
		"mediaType":            bundleV03,
		"verificationMaterial": map[string]any{"publicKey": map[string]any{"hint": hint[:]}},
		"messageSignature": map[string]any{
			"messageDigest": map[string]any{"algorithm": "SHA2_256", "digest": digest[:]},
			"signature":     sig,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyMessageSignatureBundle(t *testing.T) {
	reg := newRegistry(t)
	for _, kind := range []string{"p256", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			hash := crypto.SHA256
			if kind == "ed25519" {
				hash = crypto.Hash(0)
			}
			key := newKey(t, dir, kind, kind, hash)
			v := verifierFor(t, dir, trustYAML(reg.host, []testKey{key}))
			d := reg.pushImage(t, "bundle/message", kind)
			pushReferrer(t, d, bundleV03, messageBundle(t, key, d))

			got, err := verifyRef(t, v, d)
			if err != nil {
				t.Fatal(err)
			}
			if got.Format != FormatSigstoreBundle || got.Signer.Identity != key.file {
				t.Errorf("verdict = %+v", got)
			}
		})
	}
}

func TestVerifyBundleRefusals(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	key := newKey(t, dir, "cosign", "p256", crypto.SHA256)
	stranger := newKey(t, dir, "stranger", "p256", crypto.SHA256)
	v := verifierFor(t, dir, trustYAML(reg.host, []testKey{key}))

	// A message signature over another artifact's manifest.
	other := reg.pushImage(t, "bundle/other", "v1")
	copied := reg.pushImage(t, "bundle/copied", "v1")
	pushReferrer(t, copied, bundleV03, messageBundle(t, key, other))

	byStranger := reg.pushImage(t, "bundle/stranger", "v1")
	pushReferrer(t, byStranger, bundleV03, messageBundle(t, stranger, byStranger))

	broken := reg.pushImage(t, "bundle/broken", "v1")
	pushReferrer(t, broken, bundleV03, []byte(`{"mediaType": "`+bundleV03+`", "messageSignature": 42}`))

	// Referrers that are not Sigstore bundles are not signatures.
	sbomOnly := reg.pushImage(t, "bundle/sbom", "v1")
	pushReferrer(t, sbomOnly, "application/spdx+json", []byte(`{"spdxVersion": "SPDX-2.3"}`))

	flooded := reg.pushImage(t, "bundle/flooded", "v1")
	for i := range maxSignatures + maxAttestations + 1 {
		pushReferrer(t, flooded, bundleV03, []byte(fmt.Sprintf(`{"n": %d}`, i)))
	}

	for _, tc := range []struct {
		name string
		d    name.Digest
		want error
	}{
		{"message signature of another digest", copied, ErrDigestMismatch},
		{"by a stranger", byStranger, ErrUntrusted},
		{"broken bundle", broken, ErrUntrusted},
		{"only an SBOM", sbomOnly, ErrUnsigned},
		{"too many referrers", flooded, ErrLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifyRef(t, v, tc.d)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
}
