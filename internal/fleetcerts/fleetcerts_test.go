package fleetcerts

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newCA(t *testing.T) (string, *CA) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ca")
	if err := NewCA(dir, "test-ca", time.Now()); err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, ca
}

// TestIssuedCertificateVerifiesForItsNames: an issued certificate chains
// to the CA for both ends of mutual TLS, names its holder and its hosts,
// and its key is private.
func TestIssuedCertificateVerifiesForItsNames(t *testing.T) {
	_, ca := newCA(t)
	out := filepath.Join(t.TempDir(), "a1")
	certPath, err := Issue(ca, out, "a1", []string{"10.0.0.11", "a1.example"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certPath, filepath.Join(out, "a1.key"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, name := range []string{"a1", "a1.example", "10.0.0.11"} {
		for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
				t.Errorf("verify as %s for %v: %v", name, usage, err)
			}
		}
	}
	if err := leaf.VerifyHostname("a2"); err == nil {
		t.Error("the certificate of a1 verifies as a2")
	}
	if !leaf.IPAddresses[0].Equal(net.ParseIP("10.0.0.11")) || leaf.Subject.CommonName != "a1" {
		t.Errorf("names: %v %v", leaf.IPAddresses, leaf.Subject)
	}
	for _, key := range []string{filepath.Join(out, "a1.key")} {
		fi, err := os.Stat(key)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", key, fi.Mode().Perm(), err)
		}
	}
}

// TestNothingIsOverwritten: a CA or a certificate made twice in the same
// place is refused, and the first is left as it was.
func TestNothingIsOverwritten(t *testing.T) {
	dir, ca := newCA(t)
	before, _ := os.ReadFile(filepath.Join(dir, CAKey))
	if err := NewCA(dir, "test-ca", time.Now()); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("a second CA in the same directory: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, CAKey))
	if string(before) != string(after) {
		t.Fatal("the CA key changed")
	}
	out := t.TempDir()
	if _, err := Issue(ca, out, "r1", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := Issue(ca, out, "r1", nil, time.Now()); err == nil {
		t.Fatal("a second certificate of r1 in the same directory was written")
	}
	// A stray key alone blocks as well, and the certificate is not written.
	if err := os.WriteFile(filepath.Join(out, "r2.key"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Issue(ca, out, "r2", nil, time.Now()); err == nil {
		t.Fatal("issued over a stray key")
	}
	if _, err := os.Stat(filepath.Join(out, "r2.crt")); err == nil {
		t.Fatal("a certificate was written beside a key that is not its own")
	}
}

// TestBadInputIsRefused: names and hosts that are neither, and a CA key
// another user could read.
func TestBadInputIsRefused(t *testing.T) {
	dir, ca := newCA(t)
	out := t.TempDir()
	for _, name := range []string{"", "A1", "a_1", "-a", strings.Repeat("a", 64), "a1/../x", "a1\n"} {
		if _, err := Issue(ca, out, name, nil, time.Now()); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	for _, host := range []string{"", "a b", "a..b", strings.Repeat("a", 300), "x/y"} {
		if _, err := Issue(ca, out, "ok", []string{host}, time.Now()); err == nil {
			t.Errorf("host %q accepted", host)
		}
	}
	if err := os.Chmod(filepath.Join(dir, CAKey), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(dir); err == nil {
		t.Error("a CA key readable by others was loaded")
	}
}

// TestLoadCARefusesAMismatchedKey: a CA directory whose key is not its
// certificate's.
func TestLoadCARefusesAMismatchedKey(t *testing.T) {
	dir, _ := newCA(t)
	other := filepath.Join(t.TempDir(), "other")
	if err := NewCA(other, "other", time.Now()); err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(filepath.Join(other, CAKey))
	if err := os.Remove(filepath.Join(dir, CAKey)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CAKey), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(dir); err == nil || !strings.Contains(err.Error(), "is not the key") {
		t.Fatalf("mismatched key: %v", err)
	}
	garbage := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})
	if err := os.WriteFile(filepath.Join(other, CACert), garbage, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(other); err == nil {
		t.Error("a garbage CA certificate was loaded")
	}
}

// NewFleet makes the CA and every certificate asked, each chaining to the
// CA for its names; asked again in the same folder, it overwrites nothing.
func TestNewFleetMakesEveryCertificate(t *testing.T) {
	dir := t.TempDir()
	if err := NewFleet(dir, "fleet-ca", map[string][]string{"a1": {"10.0.0.11"}, "reconciler": nil}, time.Now()); err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for name, host := range map[string]string{"a1": "10.0.0.11", "reconciler": "reconciler"} {
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(pair.Certificate[0])
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: host}); err != nil {
			t.Errorf("%s as %s: %v", name, host, err)
		}
	}
	before, _ := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err := NewFleet(dir, "fleet-ca", map[string][]string{"a2": nil}, time.Now()); err == nil {
		t.Error("a second fleet in the same folder was made")
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "ca.key")); string(after) != string(before) {
		t.Error("the CA's key was replaced")
	}
}
