package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrstatic "github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	ocimutate "github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// testRegistry is a real OCI registry (go-containerregistry's) on
// 127.0.0.1 that counts the requests it serves.
type testRegistry struct {
	server   *httptest.Server
	host     string
	requests atomic.Int64
}

func newRegistry(t testing.TB) *testRegistry {
	t.Helper()
	r := &testRegistry{}
	handler := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		handler.ServeHTTP(w, req)
	}))
	t.Cleanup(r.server.Close)
	r.host = strings.TrimPrefix(r.server.URL, "http://")
	return r
}

// pushImage pushes a small random image as repo:tag and returns its pinned
// reference.
func (r *testRegistry) pushImage(t testing.TB, repo, tag string) name.Digest {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(r.host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(h.String())
}

// testKey is a signing key with its public half written where a trust file
// can list it.
type testKey struct {
	file   string // relative to the trust folder
	sv     signature.SignerVerifier
	public crypto.PublicKey
}

// newKey generates a key of kind ("p256", "p384", "ed25519", "rsa") signing
// with hash, and writes dir/keys/NAME.pub.
func newKey(t testing.TB, dir, keyName, kind string, hash crypto.Hash) testKey {
	t.Helper()
	var priv crypto.PrivateKey
	var pub crypto.PublicKey
	var err error
	switch kind {
	case "p256", "p384":
		curve := elliptic.P256()
		if kind == "p384" {
			curve = elliptic.P384()
		}
		k, e := ecdsa.GenerateKey(curve, rand.Reader)
		priv, pub, err = k, &k.PublicKey, e
	case "ed25519":
		p, k, e := ed25519.GenerateKey(rand.Reader)
		priv, pub, err = k, p, e
	case "rsa":
		k, e := rsa.GenerateKey(rand.Reader, 2048)
		priv, pub, err = k, &k.PublicKey, e
	default:
		t.Fatalf("key kind %s", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadSignerVerifier(priv, hash)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("keys", keyName+".pub")
	writeFile(t, filepath.Join(dir, file), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	return testKey{file: file, sv: sv, public: pub}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// signClassic signs d the way `cosign sign --key` does (without the
// transparency log): a simple-signing payload, its signature in an
// annotation, attached under the sha256-<hex>.sig tag.
func signClassic(t testing.TB, d name.Digest, k testKey) {
	t.Helper()
	p, err := (&payload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := k.sv.SignMessage(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	ociSig, err := static.NewSignature(p, base64.StdEncoding.EncodeToString(sig))
	if err != nil {
		t.Fatal(err)
	}
	attachSignature(t, d, ociSig)
}

// statement is an in-toto statement about d.
func statement(d name.Digest, predicateType string) []byte {
	hex := strings.TrimPrefix(d.DigestStr(), "sha256:")
	st, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": d.Context().Name(), "digest": map[string]string{"sha256": hex}}},
		"predicateType": predicateType,
		"predicate":     map[string]any{"builder": map[string]string{"id": "https://example.com/ci"}},
	})
	return st
}

// envelope signs st in a DSSE envelope (JSON), as cosign attest does.
func envelope(t testing.TB, k testKey, st []byte) []byte {
	t.Helper()
	env, err := dsse.WrapSigner(k.sv, "application/vnd.in-toto+json").SignMessage(bytes.NewReader(st))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// attestClassic attaches a signed in-toto statement under the
// sha256-<hex>.att tag, as `cosign attest --key` does.
func attestClassic(t testing.TB, d name.Digest, k testKey, st []byte) {
	t.Helper()
	att, err := static.NewAttestation(envelope(t, k, st), static.WithLayerMediaType(types.MediaType("application/vnd.dsse.envelope.v1+json")))
	if err != nil {
		t.Fatal(err)
	}
	se, err := ociremote.SignedEntity(d)
	if err != nil {
		t.Fatal(err)
	}
	se, err = ocimutate.AttachAttestationToEntity(se, att)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteAttestations(d.Repository, se); err != nil {
		t.Fatal(err)
	}
}

// bundleDSSE stores st, signed by k, as a Sigstore bundle referrer of d, with
// cosign's own bundle and referrer code (what cosign v3 sign and attest do).
func bundleDSSE(t testing.TB, d name.Digest, k testKey, st []byte, predicateType string) {
	t.Helper()
	pemKey, err := x509.MarshalPKIXPublicKey(k.public)
	if err != nil {
		t.Fatal(err)
	}
	signer := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pemKey})
	b, err := cbundle.MakeNewBundle(k.public, nil, st, envelope(t, k, st), signer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteAttestationNewBundleFormat(d, b, predicateType); err != nil {
		t.Fatal(err)
	}
}

// pushReferrer stores one layer of mediaType as a referrer of d whose config
// media type is artifactType (the pre-artifactType OCI 1.1 convention, which
// go-containerregistry's registry reports as the referrer's artifactType).
func pushReferrer(t testing.TB, d name.Digest, artifactType string, layer []byte) {
	t.Helper()
	desc, err := remote.Head(d)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), ggcrstatic.NewLayer(layer, types.MediaType(artifactType)))
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.ConfigMediaType(img, types.MediaType(artifactType))
	withSubject := mutate.Subject(img, v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}).(v1.Image)
	h, err := withSubject.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(d.Context().Digest(h.String()), withSubject); err != nil {
		t.Fatal(err)
	}
}

// verifierFor loads the trust file written in dir.
func verifierFor(t testing.TB, dir, trust string, opts ...Option) *Verifier {
	t.Helper()
	writeFile(t, filepath.Join(dir, "trust.yaml"), trust)
	tr, err := LoadTrust(filepath.Join(dir, "trust.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(tr, append([]Option{WithKeychain(authn.NewMultiKeychain())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// trustYAML is a trust file with one rule for every repository of host.
func trustYAML(host string, keys []testKey, predicateTypes ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "artifacts:\n  - match: %q\n    keys:\n", host+"/*/*")
	for _, k := range keys {
		fmt.Fprintf(&b, "      - %q\n", k.file)
	}
	if len(predicateTypes) > 0 {
		b.WriteString("    attestations:\n")
		for _, p := range predicateTypes {
			fmt.Fprintf(&b, "      - predicateType: %q\n", p)
		}
	}
	b.WriteString("commits:\n  mode: off\n")
	return b.String()
}

func verifyRef(t testing.TB, v *Verifier, d name.Digest) (Verdict, error) {
	t.Helper()
	return v.Verify(context.Background(), d.String())
}
