// Package fleetcerts makes a certificate authority and the certificates of
// a fleet for trying mutual TLS between reconcilers and agents (durable
// certs): ECDSA P-256 keys, x509 certificates that name their holder. Real
// deployments bring certificates of their own PKI; nothing in Durable needs
// these to be the ones it made.
//
// It never overwrites a file and never writes a key another user could
// read (mode 0600), and it reads the CA's key only when no other user could
// have written or read it (internal/hostfile).
package fleetcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// The files of a CA directory (durable certs ca --out DIR).
const (
	CACert = "ca.crt"
	CAKey  = "ca.key"
)

// Validity of what this package makes: long enough to try a fleet, short
// enough that a forgotten test CA expires.
const (
	caValidity   = 5 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
)

// namePattern is what a certificate's name may be: a host name of the
// inventory or a reconciler's name, as DNS labels are.
var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// CA is a loaded certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// NewCA makes a CA in dir (created 0700 if missing): ca.crt and ca.key.
// It refuses to replace either file.
func NewCA(dir, name string, now time.Time) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := absent(dir, CACert, CAKey); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := sign(tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("CA certificate: %w", err)
	}
	return writePair(dir, CACert, CAKey, der, key)
}

// Issue makes a certificate for name, signed by ca, in dir: NAME.crt and
// NAME.key. The certificate names name (common name and DNS name) and every
// host given (an IP address or a DNS name the holder is reached at), and
// serves both ends of mutual TLS: an agent's server certificate and a
// reconciler's client certificate. It refuses to replace either file.
func Issue(ca *CA, dir, name string, hosts []string, now time.Time) (certPath string, err error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if err := absent(dir, name+".crt", name+".key"); err != nil {
		return "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("key of %s: %w", name, err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		DNSNames:    []string{name},
		NotBefore:   now.Add(-time.Minute),
		NotAfter:    now.Add(leafValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if err := addHosts(tmpl, hosts); err != nil {
		return "", err
	}
	der, err := sign(tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return "", fmt.Errorf("certificate of %s: %w", name, err)
	}
	if err := writePair(dir, name+".crt", name+".key", der, key); err != nil {
		return "", err
	}
	return filepath.Join(dir, name+".crt"), nil
}

func checkName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("name %q: give 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit (a host name of the inventory, or the reconciler's name)", name)
	}
	return nil
}

// sign makes a certificate of tmpl with a random serial number.
func sign(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
}

// absent refuses when any of names already exists in dir: what a CA or a
// host holds is never replaced by mistake.
func absent(dir string, names ...string) error {
	for _, n := range names {
		p := filepath.Join(dir, n)
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s exists: it is never overwritten; remove it first, or choose another --out", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// NewFleet makes, in dir, a CA named caName and a certificate signed by it
// for each name of certs, naming its hosts: a whole fleet's files at once,
// as `durable certs ca` then `issue` for each would.
func NewFleet(dir, caName string, certs map[string][]string, now time.Time) error {
	if err := NewCA(dir, caName, now); err != nil {
		return err
	}
	ca, err := LoadCA(dir)
	if err != nil {
		return err
	}
	for name, hosts := range certs {
		if _, err := Issue(ca, dir, name, hosts, now); err != nil {
			return err
		}
	}
	return nil
}
