package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"

	"github.com/sigstore/sigstore/pkg/signature"
)

// PublicKey is one artifact signing key of the trust file.
type PublicKey struct {
	// File is the key file as the trust file names it; it is the identity a
	// Verdict reports.
	File string
	// Fingerprint is "sha256:<hex>" of the key's PKIX (DER) encoding, the
	// same bytes whatever PEM wrapping the file used.
	Fingerprint string

	// verifiers hold one signature.Verifier per hash the key may have been
	// used with: cosign signs with SHA-256 whatever the curve, while Sigstore
	// bundles use the curve's own hash (SHA-384 for P-384).
	verifiers []signature.Verifier
}

// minRSABits is the smallest RSA modulus accepted: smaller keys are
// factorable in practice and sigstore refuses them too.
const minRSABits = 2048

// parsePublicKey reads a cosign public key: one PEM block of type
// "PUBLIC KEY" holding an ECDSA (P-256, P-384, P-521), Ed25519 or RSA key.
// The message says what is wrong with the file and what to do instead.
func parsePublicKey(file string, data []byte) (PublicKey, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return PublicKey{}, fmt.Errorf("has no PEM block; a cosign public key starts with -----BEGIN PUBLIC KEY----- (cosign public-key --key KEY prints it)")
	}
	switch block.Type {
	case "PUBLIC KEY":
	case "CERTIFICATE":
		return PublicKey{}, fmt.Errorf("holds a certificate, not a public key; extract the key with openssl x509 -pubkey -noout")
	case "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
		return PublicKey{}, fmt.Errorf("holds a private key (%s); list the public key (cosign.pub) instead, and keep the private key off this host", block.Type)
	default:
		return PublicKey{}, fmt.Errorf("holds a PEM block of type %q; expected PUBLIC KEY", block.Type)
	}
	if next, _ := pem.Decode(rest); next != nil {
		return PublicKey{}, fmt.Errorf("holds more than one PEM block; put one key per file and list each file")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return PublicKey{}, fmt.Errorf("is not a readable PKIX public key; export it again with cosign public-key --key KEY")
	}
	hashes, err := keyHashes(pub)
	if err != nil {
		return PublicKey{}, err
	}
	k := PublicKey{File: file, Fingerprint: fingerprint(block.Bytes)}
	for _, h := range hashes {
		v, err := signature.LoadVerifier(pub, h)
		if err != nil {
			return PublicKey{}, fmt.Errorf("is not a usable public key: %v", err)
		}
		k.verifiers = append(k.verifiers, v)
	}
	return k, nil
}

// keyHashes lists, for a supported key, the hash functions a signature made
// with it may use, cosign's default (SHA-256) first.
func keyHashes(pub crypto.PublicKey) ([]crypto.Hash, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return []crypto.Hash{crypto.SHA256}, nil
		case elliptic.P384():
			return []crypto.Hash{crypto.SHA256, crypto.SHA384}, nil
		case elliptic.P521():
			return []crypto.Hash{crypto.SHA256, crypto.SHA512}, nil
		default:
			return nil, fmt.Errorf("ECDSA curve %s is not supported; use P-256, P-384 or P-521", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		// Ed25519 hashes internally; the hash argument is ignored.
		return []crypto.Hash{crypto.Hash(0)}, nil
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits is too small; use at least %d bits", k.N.BitLen(), minRSABits)
		}
		return []crypto.Hash{crypto.SHA256}, nil
	default:
		return nil, fmt.Errorf("key type %T is not supported; use ECDSA, Ed25519 or RSA", pub)
	}
}

// fingerprint names a key by the SHA-256 of its PKIX encoding.
func fingerprint(pkix []byte) string {
	sum := sha256.Sum256(pkix)
	return "sha256:" + hex.EncodeToString(sum[:])
}
