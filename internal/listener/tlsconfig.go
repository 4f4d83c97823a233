package listener

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"

	"github.com/durable-delivery/durable/internal/hostfile"
)

// maxPEM bounds a certificate, key or CA bundle file.
const maxPEM = 1 << 20

// serverTLS builds the TLS configuration of a listener: its certificate and
// key and, with --client-ca, the CAs a client certificate must chain to.
func serverTLS(c Config) (*tls.Config, error) {
	certPEM, err := readPEM(c.TLSCert, "--tls-cert", "TLS certificate", "impersonate the API")
	if err != nil {
		return nil, err
	}
	keyPEM, err := readPEM(c.TLSKey, "--tls-key", "TLS key", "impersonate the API")
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %v; give a PEM certificate and the PEM key that matches it", c.TLSCert, c.TLSKey, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: max(c.TLSMinVersion, tls.VersionTLS12)}
	if c.ClientCA != "" {
		pool, err := certPool(c.ClientCA, "--client-ca")
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// certPool reads a PEM bundle of CA certificates.
func certPool(path, flag string) (*x509.CertPool, error) {
	b, err := readPEM(path, flag, "CA file", "make the API trust a certificate of theirs")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s %s: no PEM certificate in it; give the CA's certificate in PEM", flag, path)
	}
	return pool, nil
}

// readPEM reads a file the operator keeps, refusing one another local user
// could have written, and bounding its size.
func readPEM(path, flag, what, risk string) ([]byte, error) {
	f, err := hostfile.Open(path, what, risk)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	if len(b) > maxPEM {
		return nil, fmt.Errorf("%s %s: over %d bytes; a PEM file is far smaller", flag, path, maxPEM)
	}
	return b, nil
}
