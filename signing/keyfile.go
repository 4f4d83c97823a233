package signing

import (
	"crypto"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/durable-delivery/durable/internal/hostfile"
)

// maxKeyFile bounds a private key or password file: a cosign key is under
// 1 KiB.
const maxKeyFile = 64 << 10

// ErrWrongPassword: the password does not decrypt the private key.
var ErrWrongPassword = errors.New("wrong password for the private key")

// NewKeyFiles makes a cosign key pair, ECDSA P-256 as `cosign
// generate-key-pair` makes: prefix.key, the private key encrypted with
// password (0600), and prefix.pub (0644). It never overwrites a file.
func NewKeyFiles(prefix string, password []byte) error {
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return password, nil })
	if err != nil {
		return fmt.Errorf("make a key pair: %w", err)
	}
	priv, pub := prefix+".key", prefix+".pub"
	for _, f := range []string{priv, pub} {
		if _, err := os.Lstat(f); err == nil {
			return fmt.Errorf("%s exists: choose another --output, or remove it first (a key is never overwritten)", f)
		}
	}
	if err := writeNew(priv, keys.PrivateBytes, 0o600); err != nil {
		return err
	}
	if err := writeNew(pub, keys.PublicBytes, 0o644); err != nil {
		_ = os.Remove(priv)
		return err
	}
	return nil
}

// writeNew writes a file that must not exist yet.
func writeNew(file string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", file, err)
	}
	return f.Close()
}

// LoadKey reads a cosign private key file (as `cosign generate-key-pair` or
// NewKeyFiles writes it) and decrypts it with password. The file is a
// secret of the host: one that others may read, or write, is refused.
func LoadKey(file string, password []byte) (*Key, error) {
	data, err := hostfile.ReadSecret(file, "private key", "sign artifacts as you", maxKeyFile)
	if err != nil {
		return nil, err
	}
	if strings.Contains(string(data), "PUBLIC KEY-----") {
		return nil, fmt.Errorf("private key %s holds a public key; give the .key file", file)
	}
	// No default options: an Ed25519 key signs pure Ed25519, which the
	// verifier checks, rather than cosign's pre-hashed variant.
	sv, err := cosign.LoadPrivateKey(data, password, &[]signature.LoadOption{})
	if err != nil {
		if strings.Contains(err.Error(), "decrypt") {
			return nil, fmt.Errorf("private key %s: %w: give the password it was made with (--password-file, or COSIGN_PASSWORD)", file, ErrWrongPassword)
		}
		return nil, fmt.Errorf("private key %s is not a cosign private key (%v); make one with durable keys new", file, err)
	}
	return keyOf(sv)
}

// keyOf wraps a signer with its public key's PEM.
func keyOf(sv signature.SignerVerifier) (*Key, error) {
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, err
	}
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, err
	}
	return &Key{signer: sv, PublicPEM: pemBytes}, nil
}

// publicKey is the key's public half.
func (k *Key) publicKey() (crypto.PublicKey, error) { return k.signer.PublicKey() }
