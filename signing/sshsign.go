package signing

import (
	"crypto/rand"
	"crypto/sha512"
	"encoding/pem"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"
)

// SSHSigner signs Git commits with an SSH key as `git commit -S` with
// gpg.format=ssh does (ssh-keygen -Y sign -n git): it is a go-git Signer,
// and what it writes VerifyCommit, `git verify-commit` and `ssh-keygen -Y
// verify` accept. RSA keys sign with rsa-sha2-512, never SHA-1.
type SSHSigner struct {
	Key ssh.Signer
}

// Sign returns the armored SSHSIG over message, a commit as git encodes
// it without its signature.
func (s SSHSigner) Sign(message io.Reader) ([]byte, error) {
	alg := ""
	if s.Key.PublicKey().Type() == ssh.KeyAlgoRSA {
		alg = ssh.KeyAlgoRSASHA512
	}
	return signSSHSIG(s.Key, message, sshsigNamespace, alg)
}

// signSSHSIG signs message in namespace, with the signature algorithm alg
// ("" for the key's own).
func signSSHSIG(key ssh.Signer, message io.Reader, namespace, alg string) ([]byte, error) {
	h := sha512.New()
	if _, err := io.Copy(h, message); err != nil {
		return nil, err
	}
	signed := append([]byte(sshsigMagic), ssh.Marshal(struct {
		Namespace, Reserved, HashAlg string
		Hash                         []byte
	}{namespace, "", "sha512", h.Sum(nil)})...)
	var sig *ssh.Signature
	var err error
	if as, ok := key.(ssh.AlgorithmSigner); ok && alg != "" {
		sig, err = as.SignWithAlgorithm(rand.Reader, signed, alg)
	} else {
		sig, err = key.Sign(rand.Reader, signed)
	}
	if err != nil {
		return nil, fmt.Errorf("sign with the %s key: %w", key.PublicKey().Type(), err)
	}
	blob := append([]byte(sshsigMagic), ssh.Marshal(struct {
		Version                      uint32
		PublicKey                    []byte
		Namespace, Reserved, HashAlg string
		Signature                    []byte
	}{sshsigVersion, key.PublicKey().Marshal(), namespace, "", "sha512", ssh.Marshal(sig)})...)
	return pem.EncodeToMemory(&pem.Block{Type: sshsigArmorType, Bytes: blob}), nil
}
