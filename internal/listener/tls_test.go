package listener

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// issuer is a test CA that writes certificates and keys as PEM files.
type issuer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	dir  string
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	is := &issuer{dir: t.TempDir()}
	is.cert, is.key = is.issue(t, "ca", nil)
	return is
}

// issue writes NAME.crt and NAME.key (0600), signed by the CA (self-signed
// when it is the CA itself), valid for 127.0.0.1.
func (is *issuer) issue(t *testing.T, name string, parent *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: parent == nil,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	signer, signKey := tmpl, k
	if parent != nil {
		signer, signKey = parent, is.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &k.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(k)
	write(t, filepath.Join(is.dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(t, filepath.Join(is.dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	c, _ := x509.ParseCertificate(der)
	return c, k
}

func write(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (is *issuer) path(name string) string { return filepath.Join(is.dir, name) }

// Mutual TLS: a non-loopback listener serves with TLS; a client with the
// CA and its own certificate gets through, one without a certificate does
// not, nor one that does not trust the server.
func TestMutualTLS(t *testing.T) {
	is := newIssuer(t)
	is.issue(t, "server", is.cert)
	is.issue(t, "client", is.cert)
	l, err := Listen(Config{Address: "0.0.0.0:0", TLSCert: is.path("server.crt"), TLSKey: is.path("server.key"), ClientCA: is.path("ca.crt")})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })}
	go srv.Serve(l)
	defer srv.Close()
	if l.Kind != TLS || !strings.HasPrefix(l.URL(), "https://") {
		t.Fatalf("kind %v url %s", l.Kind, l.URL())
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	addr := "127.0.0.1:" + port
	get := func(c ClientConfig) error {
		c.Address = addr
		cl, err := NewClient(c)
		if err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, cl.Base+"/", nil)
		resp, err := cl.HTTP.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(ClientConfig{CA: is.path("ca.crt"), Cert: is.path("client.crt"), Key: is.path("client.key")}); err != nil {
		t.Fatalf("client with a certificate: %v", err)
	}
	if err := get(ClientConfig{CA: is.path("ca.crt")}); err == nil {
		t.Fatal("a client without a certificate got through mutual TLS")
	}
	if err := get(ClientConfig{Cert: is.path("client.crt"), Key: is.path("client.key")}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a client that does not trust the server's CA: %v", err)
	}
	if err := get(ClientConfig{CA: is.path("ca.crt"), Cert: is.path("client.crt")}); err == nil || !strings.Contains(err.Error(), "together") {
		t.Fatalf("a client certificate without its key: %v", err)
	}
}
