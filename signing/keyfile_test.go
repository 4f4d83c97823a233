package signing

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/internal/hostfile"
	"github.com/durable-delivery/durable/internal/registrytest"
)

const provenance = "https://slsa.dev/provenance/v1"

// A key pair made by NewKeyFiles signs and attests, in each format, against
// Debian's docker-registry, what the Verifier accepts under PREFIX.pub; an
// artifact signed but not attested lacks the attestation the rule wants.
func TestKeyFilesSignInBothFormats(t *testing.T) {
	host, _ := registrytest.Start(t)
	reg := &testRegistry{host: host}
	dir := t.TempDir()
	prefix := filepath.Join(dir, "keys", "release")
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := NewKeyFiles(prefix, []byte("s3cret")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(prefix + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v, %v", fi, err)
	}
	if _, err := LoadKey(prefix+".key", []byte("wrong")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: %v, want ErrWrongPassword", err)
	}
	k, err := LoadKey(prefix+".key", []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v := verifierFor(t, dir, trustYAML(host, []testKey{{file: "keys/release.pub"}}, provenance))
	for _, format := range []string{FormatCosignSig, FormatSigstoreBundle} {
		d := reg.pushImage(t, "shop/web", format)
		if err := k.SignAs(ctx, d.String(), format); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, d.String()); !errors.Is(err, ErrAttestationMissing) {
			t.Fatalf("%s: signed, not attested: %v, want ErrAttestationMissing", format, err)
		}
		if err := k.Attest(ctx, d.String(), format, Predicate{Type: provenance, JSON: []byte(`{"builder":{"id":"ci"}}`)}); err != nil {
			t.Fatal(err)
		}
		verdict, err := v.Verify(ctx, d.String())
		if err != nil || verdict.Format != format || verdict.Signer.Identity != "keys/release.pub" {
			t.Fatalf("%s: %+v, %v", format, verdict, err)
		}
	}
	other, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	d := reg.pushImage(t, "shop/web", "other")
	if err := other.SignAs(ctx, d.String(), FormatSigstoreBundle); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, d.String()); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("signed by another key: %v, want ErrUntrusted", err)
	}
}

// Broken and unsafe key files, formats and predicates are refused with a
// message that says what to do.
func TestKeyFileRefusals(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "k")
	if err := NewKeyFiles(prefix, nil); err != nil {
		t.Fatal(err)
	}
	if err := NewKeyFiles(prefix, nil); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("second NewKeyFiles: %v", err)
	}
	readable := filepath.Join(dir, "readable.key")
	data, err := os.ReadFile(prefix + ".key")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, readable, string(data)) // 0644
	var unsafe *hostfile.UnsafeError
	if _, err := LoadKey(readable, nil); !errors.As(err, &unsafe) {
		t.Fatalf("a key others can read: %v, want an UnsafeError", err)
	}
	cases := map[string]string{
		"public.key":  "holds a public key",
		"garbage.key": "not a cosign private key",
		"huge.key":    "larger than",
	}
	pub, _ := os.ReadFile(prefix + ".pub")
	contents := map[string]string{"public.key": string(pub), "garbage.key": "hello", "huge.key": strings.Repeat("x", maxKeyFile+1)}
	for file, want := range cases {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(contents[file]), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKey(filepath.Join(dir, file), nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", file, err, want)
		}
	}
	if _, err := LoadKey(filepath.Join(dir, "missing.key"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing key: %v", err)
	}
	k, err := LoadKey(prefix+".key", nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := "127.0.0.1:1/a@sha256:" + strings.Repeat("a", 64)
	for _, c := range []struct{ format, pt, predicate, want string }{
		{"gpg", "", "", "signature format"},
		{FormatCosignSig, "", "{}", "give a URI"},
		{FormatCosignSig, provenance, "[1]", "not a JSON object"},
		{FormatCosignSig, provenance, "{" + strings.Repeat(" ", maxPayload) + "}", "at most"},
		{"gpg", provenance, "{}", "attestation format"},
	} {
		var err error
		if c.pt == "" && c.predicate == "" {
			err = k.SignAs(context.Background(), ref, c.format)
		} else {
			err = k.Attest(context.Background(), ref, c.format, Predicate{Type: c.pt, JSON: []byte(c.predicate)})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if err := k.SignAs(context.Background(), "127.0.0.1:1/a:v1", FormatCosignSig); !errors.Is(err, ErrNotPinned) {
		t.Errorf("a tag: %v, want ErrNotPinned", err)
	}
}
