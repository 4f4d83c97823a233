package signing

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
)

// SSH signatures follow OpenSSH's PROTOCOL.sshsig: an armored blob
//
//	"SSHSIG" uint32(1) string(publickey) string(namespace) string(reserved)
//	string(hash_algorithm) string(signature)
//
// whose signature covers
//
//	"SSHSIG" string(namespace) string(reserved) string(hash_algorithm)
//	string(H(message))
//
// Git signs commits in the namespace "git".
const (
	sshsigMagic     = "SSHSIG"
	sshsigVersion   = 1
	sshsigNamespace = "git"
	sshsigArmorType = "SSH SIGNATURE"
)

// sshSignature is a parsed SSHSIG blob.
type sshSignature struct {
	key       ssh.PublicKey
	namespace string
	hashAlg   string
	sig       *ssh.Signature
}

// parseSSHSignature decodes an armored SSH signature.
func parseSSHSignature(armored []byte) (*sshSignature, error) {
	block, _ := pem.Decode(armored)
	if block == nil || block.Type != sshsigArmorType {
		return nil, errors.New("not an armored SSH signature")
	}
	blob, ok := bytes.CutPrefix(block.Bytes, []byte(sshsigMagic))
	if !ok {
		return nil, errors.New("SSH signature lacks the SSHSIG preamble")
	}
	var wire struct {
		Version   uint32
		PublicKey []byte
		Namespace string
		Reserved  []byte
		HashAlg   string
		Signature []byte
	}
	if err := ssh.Unmarshal(blob, &wire); err != nil {
		return nil, fmt.Errorf("malformed SSH signature: %v", err)
	}
	if wire.Version != sshsigVersion {
		return nil, fmt.Errorf("SSH signature version %d is not supported", wire.Version)
	}
	key, err := ssh.ParsePublicKey(wire.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("SSH signature carries an unreadable public key: %v", err)
	}
	if _, isCert := key.(*ssh.Certificate); isCert {
		return nil, errors.New("SSH certificate signatures are not supported; sign with a plain key listed in allowed signers")
	}
	sig := new(ssh.Signature)
	if err := ssh.Unmarshal(wire.Signature, sig); err != nil {
		return nil, fmt.Errorf("malformed signature in SSH signature: %v", err)
	}
	return &sshSignature{key: key, namespace: wire.Namespace, hashAlg: wire.HashAlg, sig: sig}, nil
}

// verify checks the signature over message in the git namespace.
func (s *sshSignature) verify(message []byte) error {
	if s.namespace != sshsigNamespace {
		return fmt.Errorf("SSH signature is for namespace %q, not %q", s.namespace, sshsigNamespace)
	}
	var h hash.Hash
	switch s.hashAlg {
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return fmt.Errorf("SSH signature hash %q is not supported (sha256, sha512)", s.hashAlg)
	}
	// OpenSSH refuses SHA-1 RSA signatures in SSHSIG; so do we.
	if s.sig.Format == ssh.KeyAlgoRSA {
		return errors.New("SSH signature uses ssh-rsa (SHA-1); sign with rsa-sha2-256 or rsa-sha2-512")
	}
	h.Write(message)
	signed := append([]byte(sshsigMagic), ssh.Marshal(struct {
		Namespace string
		Reserved  string
		HashAlg   string
		Hash      []byte
	}{s.namespace, "", s.hashAlg, h.Sum(nil)})...)
	if err := s.key.Verify(signed, s.sig); err != nil {
		return fmt.Errorf("SSH signature does not verify: %v", err)
	}
	return nil
}

// allowedSigner is one line of an ssh allowed-signers file
// ("principals [options] keytype base64 [comment]", see ssh-keygen(1)).
type allowedSigner struct {
	principals string
	key        ssh.PublicKey
	namespaces []string // empty: every namespace
}

// matches reports whether the line trusts key for git signatures.
func (a allowedSigner) matches(key ssh.PublicKey) bool {
	return bytes.Equal(a.key.Marshal(), key.Marshal()) &&
		(len(a.namespaces) == 0 || slices.Contains(a.namespaces, sshsigNamespace))
}

// parseAllowedSigners reads an allowed-signers file, reporting each bad line
// with its position.
func parseAllowedSigners(file string, data []byte) ([]allowedSigner, TrustErrors) {
	var out []allowedSigner
	var errs TrustErrors
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxTrustFile)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		trimmed := strings.TrimLeft(text, " \t")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		col := len(text) - len(trimmed) + 1
		s, err := parseAllowedSigner(trimmed)
		if err != nil {
			errs = append(errs, TrustError{File: file, Line: line, Col: col, Message: err.Error()})
			continue
		}
		out = append(out, s)
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, TrustError{File: file, Message: "no allowed signer in the file; add lines like: alice@example.com ssh-ed25519 AAAA..."})
	}
	return out, errs
}

func parseAllowedSigner(line string) (allowedSigner, error) {
	var principals, rest string
	if quoted, ok := strings.CutPrefix(line, `"`); ok {
		end := strings.IndexByte(quoted, '"')
		if end < 0 {
			return allowedSigner{}, errors.New("unterminated quoted principals; close the quote")
		}
		principals, rest = quoted[:end], quoted[end+1:]
	} else {
		end := strings.IndexAny(line, " \t")
		if end < 0 {
			return allowedSigner{}, errors.New("a line is: PRINCIPALS [OPTIONS] KEYTYPE BASE64-KEY; the key is missing")
		}
		principals, rest = line[:end], line[end:]
	}
	if principals == "" {
		return allowedSigner{}, errors.New("empty principals; start the line with the signer's identity, e.g. alice@example.com")
	}
	key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(rest)))
	if err != nil {
		return allowedSigner{}, fmt.Errorf("cannot parse the key after %q (%v); write KEYTYPE BASE64-KEY as in a .pub file", principals, err)
	}
	if _, isCert := key.(*ssh.Certificate); isCert {
		return allowedSigner{}, errors.New("certificates are not supported; list the signer's plain public key")
	}
	s := allowedSigner{principals: principals, key: key}
	for _, opt := range options {
		name, value, _ := strings.Cut(opt, "=")
		switch strings.ToLower(name) {
		case "namespaces":
			for ns := range strings.SplitSeq(strings.Trim(value, `"`), ",") {
				s.namespaces = append(s.namespaces, strings.TrimSpace(ns))
			}
		default:
			return allowedSigner{}, fmt.Errorf("option %q is not supported (only namespaces=\"git\"); remove it", name)
		}
	}
	return s, nil
}
