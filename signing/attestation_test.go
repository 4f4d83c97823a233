package signing

import (
	"crypto"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

const (
	slsa = "https://slsa.dev/provenance/v1"
	sbom = "https://spdx.dev/Document"
)

func TestVerifyAttestations(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	trusted := newKey(t, dir, "trusted", "p256", crypto.SHA256)
	stranger := newKey(t, dir, "stranger", "p256", crypto.SHA256)
	v := verifierFor(t, dir, trustYAML(reg.host, []testKey{trusted}, slsa))

	for _, tc := range []struct {
		name string
		// attest adds attestations to the signed artifact d.
		attest func(t *testing.T, d name.Digest)
		want   error
		format string
	}{
		{"missing", func(*testing.T, name.Digest) {}, ErrAttestationMissing, ""},
		{"wrong predicate type", func(t *testing.T, d name.Digest) {
			attestClassic(t, d, trusted, statement(d, sbom))
		}, ErrAttestationMissing, ""},
		{"by an untrusted key", func(t *testing.T, d name.Digest) {
			attestClassic(t, d, stranger, statement(d, slsa))
		}, ErrAttestationMissing, ""},
		{"about another digest", func(t *testing.T, d name.Digest) {
			other := reg.pushImage(t, "attest/other", "v1")
			attestClassic(t, d, trusted, statement(other, slsa))
		}, ErrAttestationMissing, ""},
		{"present", func(t *testing.T, d name.Digest) {
			attestClassic(t, d, trusted, statement(d, sbom))
			attestClassic(t, d, trusted, statement(d, slsa))
		}, nil, FormatCosignSig},
		{"present as a bundle", func(t *testing.T, d name.Digest) {
			bundleDSSE(t, d, trusted, statement(d, slsa), slsa)
		}, nil, FormatSigstoreBundle},
		{"bundle by an untrusted key", func(t *testing.T, d name.Digest) {
			bundleDSSE(t, d, stranger, statement(d, slsa), slsa)
		}, ErrAttestationMissing, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := reg.pushImage(t, "attest/app", "v1")
			signClassic(t, d, trusted)
			tc.attest(t, d)
			got, err := verifyRef(t, v, d)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil {
				t.Log(err)
				return
			}
			if len(got.Attestations) != 1 {
				t.Fatalf("attestations = %+v, want one", got.Attestations)
			}
			att := got.Attestations[0]
			if att.PredicateType != slsa || att.Format != tc.format || att.Signer.Identity != trusted.file {
				t.Errorf("attestation = %+v", att)
			}
			var st struct {
				PredicateType string `json:"predicateType"`
				Subject       []struct {
					Digest map[string]string `json:"digest"`
				} `json:"subject"`
			}
			if err := json.Unmarshal(att.Statement, &st); err != nil {
				t.Fatal(err)
			}
			if st.PredicateType != slsa || "sha256:"+st.Subject[0].Digest["sha256"] != d.DigestStr() {
				t.Errorf("statement = %s", att.Statement)
			}
		})
	}
}

// TestVerifyAttestationNotASignature: an attestation alone does not sign an
// artifact.
func TestVerifyAttestationNotASignature(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	key := newKey(t, dir, "cosign", "p256", crypto.SHA256)
	v := verifierFor(t, dir, trustYAML(reg.host, []testKey{key}, slsa))
	d := reg.pushImage(t, "attest/only", "v1")
	attestClassic(t, d, key, statement(d, slsa))
	bundleDSSE(t, d, key, statement(d, slsa), slsa)
	if _, err := verifyRef(t, v, d); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("err = %v, want ErrUnsigned", err)
	}
}
