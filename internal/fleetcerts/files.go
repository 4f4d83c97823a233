package fleetcerts

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/durable-delivery/durable/internal/hostfile"
)

// maxPEM bounds a CA file read back.
const maxPEM = 1 << 20

// dnsName is a host name a certificate may name besides its holder's name.
var dnsName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

// addHosts adds each host to tmpl as an IP address or a DNS name.
func addHosts(tmpl *x509.Certificate, hosts []string) error {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			continue
		}
		if len(h) > 253 || !dnsName.MatchString(h) {
			return fmt.Errorf("--host %q is neither an IP address nor a DNS name: give the address the holder is reached at", h)
		}
		tmpl.DNSNames = append(tmpl.DNSNames, strings.ToLower(h))
	}
	return nil
}

// writePair writes a certificate (0644) and its key (0600) in dir, creating
// dir 0700 if missing, each file created anew (O_EXCL): a file that appeared
// meanwhile is not replaced.
func writePair(dir, certName, keyName string, der []byte, key *ecdsa.PrivateKey) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode key: %w", err)
	}
	keyPath := filepath.Join(dir, keyName)
	if err := writeNew(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	certPath := filepath.Join(dir, certName)
	if err := writeNew(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		// A key without its certificate is of no use and would block a retry.
		_ = os.Remove(keyPath)
		return err
	}
	return nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}

// LoadCA reads the CA that NewCA made in dir. Its key is refused when
// another local user could have written or read it.
func LoadCA(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACert), filepath.Join(dir, CAKey)
	certPEM, err := readBounded(certPath)
	if err != nil {
		return nil, fmt.Errorf("--ca %s: %w (make one with durable certs ca --out DIR)", dir, err)
	}
	keyPEM, err := hostfile.ReadSecret(keyPath, "CA key", "issue certificates the fleet trusts", maxPEM)
	if err != nil {
		return nil, fmt.Errorf("--ca %s: %w", dir, err)
	}
	cert, err := parseCert(certPath, certPEM)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(keyPEM)
	if b == nil || b.Type != "EC PRIVATE KEY" {
		return nil, fmt.Errorf("%s: no EC PRIVATE KEY block in it", keyPath)
	}
	key, err := x509.ParseECPrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("--ca %s: %s is not the key of %s", dir, CAKey, CACert)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// readBounded reads a certificate file of at most maxPEM bytes.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	if err == nil && len(data) > maxPEM {
		err = fmt.Errorf("%s is over %d bytes, not a certificate", path, maxPEM)
	}
	return data, err
}

func parseCert(path string, data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no CERTIFICATE block in it", path)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", path)
	}
	return cert, nil
}
