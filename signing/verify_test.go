package signing

import (
	"context"
	"crypto"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
)

func TestVerifySignedClassic(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	key := newKey(t, dir, "cosign", "p256", crypto.SHA256)
	d := reg.pushImage(t, "quickstart/web", "v1")
	signClassic(t, d, key)
	v := verifierFor(t, dir, trustYAML(reg.host, []testKey{key}))

	got, err := verifyRef(t, v, d)
	if err != nil {
		t.Fatal(err)
	}
	if got.Format != FormatCosignSig || got.Digest != d.DigestStr() || got.Ref != d.String() {
		t.Errorf("verdict = %+v", got)
	}
	if got.Signer.Identity != key.file || !strings.HasPrefix(got.Signer.Key, "sha256:") || got.Signer.Method != "cosign-key" {
		t.Errorf("signer = %+v", got.Signer)
	}
	if got.Rule != reg.host+"/*/*" || got.VerifiedAt.IsZero() {
		t.Errorf("rule %q, verified at %v", got.Rule, got.VerifiedAt)
	}

	// A tag next to the digest is ignored: the digest is what is verified.
	withTag := reg.host + "/quickstart/web:v1@" + d.DigestStr()
	if got, err := v.Verify(context.Background(), withTag); err != nil || got.Ref != d.String() {
		t.Errorf("Verify(%s) = %+v, %v", withTag, got, err)
	}
}

// TestVerifyConcurrent shares one Verifier between goroutines (run with
// -race).
func TestVerifyConcurrent(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	key := newKey(t, dir, "cosign", "p256", crypto.SHA256)
	var refs []name.Digest
	for _, tag := range []string{"v1", "v2", "v3"} {
		d := reg.pushImage(t, "app/web", tag)
		signClassic(t, d, key)
		refs = append(refs, d)
	}
	v := verifierFor(t, dir, trustYAML(reg.host, []testKey{key}))
	errs := make(chan error, 12)
	for i := range cap(errs) {
		go func() {
			_, err := verifyRef(t, v, refs[i%len(refs)])
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestVerifyKeyTypes signs with every supported key type, in both formats.
func TestVerifyKeyTypes(t *testing.T) {
	reg := newRegistry(t)
	for _, tc := range []struct {
		kind string
		hash crypto.Hash
	}{
		{"p256", crypto.SHA256},
		{"p384", crypto.SHA256}, // cosign's default hash whatever the curve
		{"p384", crypto.SHA384}, // the curve's own hash, as Sigstore bundles use
		{"ed25519", crypto.Hash(0)},
		{"rsa", crypto.SHA256},
	} {
		t.Run(tc.kind+"-"+tc.hash.String(), func(t *testing.T) {
			dir := t.TempDir()
			key := newKey(t, dir, tc.kind, tc.kind, tc.hash)
			v := verifierFor(t, dir, trustYAML(reg.host, []testKey{key}))

			classic := reg.pushImage(t, "keys/classic", tc.kind)
			signClassic(t, classic, key)
			if got, err := verifyRef(t, v, classic); err != nil || got.Format != FormatCosignSig {
				t.Errorf("classic: %+v, %v", got, err)
			}

			bundled := reg.pushImage(t, "keys/bundle", tc.kind)
			bundleDSSE(t, bundled, key, statement(bundled, cosignSignPredicateType), cosignSignPredicateType)
			if got, err := verifyRef(t, v, bundled); err != nil || got.Format != FormatSigstoreBundle {
				t.Errorf("bundle: %+v, %v", got, err)
			}
		})
	}
}

func TestVerifyRefusals(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	trusted := newKey(t, dir, "trusted", "p256", crypto.SHA256)
	stranger := newKey(t, dir, "stranger", "p256", crypto.SHA256)
	v := verifierFor(t, dir, trustYAML(reg.host, []testKey{trusted}))

	unsigned := reg.pushImage(t, "app/unsigned", "v1")

	wrongKey := reg.pushImage(t, "app/wrongkey", "v1")
	signClassic(t, wrongKey, stranger)

	// The signature of a, copied under b's signature tag: valid, by a
	// trusted key, but about a's digest.
	a := reg.pushImage(t, "app/copied", "a")
	b := reg.pushImage(t, "app/copied", "b")
	signClassic(t, a, trusted)
	copyTag(t, a.Context().Tag(sigTag(a)), b.Context().Tag(sigTag(b)))

	// The same with a bundle: a statement about a, signed by a trusted key,
	// stored as a referrer of c.
	c := reg.pushImage(t, "app/copiedbundle", "c")
	bundleDSSE(t, c, trusted, statement(a, cosignSignPredicateType), cosignSignPredicateType)

	wrongBundle := reg.pushImage(t, "app/wrongbundle", "v1")
	bundleDSSE(t, wrongBundle, stranger, statement(wrongBundle, cosignSignPredicateType), cosignSignPredicateType)

	for _, tc := range []struct {
		name string
		ref  string
		want error
	}{
		{"unsigned", unsigned.String(), ErrUnsigned},
		{"wrong key", wrongKey.String(), ErrUntrusted},
		{"signature of another digest", b.String(), ErrDigestMismatch},
		{"bundle about another digest", c.String(), ErrDigestMismatch},
		{"bundle by a wrong key", wrongBundle.String(), ErrUntrusted},
		{"tag", reg.host + "/app/unsigned:v1", ErrNotPinned},
		{"no tag", reg.host + "/app/unsigned", ErrNotPinned},
		{"no rule", "other.example.com/app/x@" + unsigned.DigestStr(), ErrNoTrustRule},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.ref)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, other := range []error{ErrUnsigned, ErrUntrusted, ErrDigestMismatch, ErrNotPinned, ErrNoTrustRule, ErrUnreachable, ErrLimit, ErrAttestationMissing} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("err = %v is also %v", err, other)
				}
			}
			t.Log(err)
		})
	}
}

func TestVerifyRotation(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	oldKey := newKey(t, dir, "old", "p256", crypto.SHA256)
	newKey := newKey(t, dir, "new", "ed25519", crypto.Hash(0))
	byOld := reg.pushImage(t, "app/web", "v1")
	signClassic(t, byOld, oldKey)
	byNew := reg.pushImage(t, "app/web", "v2")
	signClassic(t, byNew, newKey)

	both := verifierFor(t, dir, trustYAML(reg.host, []testKey{oldKey, newKey}))
	for _, d := range []name.Digest{byOld, byNew} {
		if _, err := verifyRef(t, both, d); err != nil {
			t.Errorf("old and new trusted: %s: %v", d, err)
		}
	}

	// The old key is removed: a new trust, a new verifier, and the old
	// signature no longer counts, even though the first verifier cached it.
	onlyNew := verifierFor(t, dir, trustYAML(reg.host, []testKey{newKey}))
	if _, err := verifyRef(t, onlyNew, byOld); !errors.Is(err, ErrUntrusted) {
		t.Errorf("old key removed: err = %v, want ErrUntrusted", err)
	}
	if got, err := verifyRef(t, onlyNew, byNew); err != nil || got.Signer.Identity != newKey.file {
		t.Errorf("new key: %+v, %v", got.Signer, err)
	}
}

// TestVerifyManySignatures floods the signature tag with bogus layers: the
// verifier refuses before reading them.
func TestVerifyManySignatures(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	key := newKey(t, dir, "cosign", "p256", crypto.SHA256)
	v := verifierFor(t, dir, trustYAML(reg.host, []testKey{key}))
	d := reg.pushImage(t, "app/flooded", "v1")
	signClassic(t, d, key)

	sig, err := remote.Image(d.Context().Tag(sigTag(d)))
	if err != nil {
		t.Fatal(err)
	}
	var adds []mutate.Addendum
	for i := range 120 {
		adds = append(adds, mutate.Addendum{
			Layer:       static.NewLayer([]byte(`{"bogus":`+string(rune('0'+i%10))+`}`), "application/vnd.dev.cosign.simplesigning.v1+json"),
			Annotations: map[string]string{"dev.cosignproject.cosign/signature": "AAAA"},
		})
	}
	flooded, err := mutate.Append(sig, adds...)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(d.Context().Tag(sigTag(d)), flooded); err != nil {
		t.Fatal(err)
	}

	before := reg.requests.Load()
	start := time.Now()
	_, err = verifyRef(t, v, d)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
	t.Logf("refused in %v with %d requests: %v", time.Since(start), reg.requests.Load()-before, err)
}

func TestVerifyUnreachable(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t, dir, "cosign", "p256", crypto.SHA256)

	t.Run("down", func(t *testing.T) {
		reg := newRegistry(t)
		d := reg.pushImage(t, "app/web", "v1")
		signClassic(t, d, key)
		v := verifierFor(t, dir, trustYAML(reg.host, []testKey{key}))
		reg.server.Close()
		if _, err := verifyRef(t, v, d); !errors.Is(err, ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
	})

	t.Run("no answer in time", func(t *testing.T) {
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer slow.Close()
		defer close(release)
		host := strings.TrimPrefix(slow.URL, "http://")
		v := verifierFor(t, dir, trustYAML(host, []testKey{key}), WithTimeout(300*time.Millisecond))
		_, err := v.Verify(context.Background(), host+"/app/web@sha256:"+strings.Repeat("ab", 32))
		if !errors.Is(err, ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
		t.Log(err)
	})
}

func TestVerifyCache(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	key := newKey(t, dir, "cosign", "p256", crypto.SHA256)
	d := reg.pushImage(t, "app/web", "v1")
	signClassic(t, d, key)
	v := verifierFor(t, dir, trustYAML(reg.host, []testKey{key}))

	first, err := verifyRef(t, v, d)
	if err != nil {
		t.Fatal(err)
	}
	before := reg.requests.Load()
	second, err := verifyRef(t, v, d)
	if err != nil {
		t.Fatal(err)
	}
	if n := reg.requests.Load() - before; n != 0 {
		t.Errorf("second verification made %d registry requests, want 0", n)
	}
	if !second.VerifiedAt.Equal(first.VerifiedAt) {
		t.Errorf("cached verdict time %v, first %v", second.VerifiedAt, first.VerifiedAt)
	}

	// A refusal is not cached: once signed, the artifact passes.
	unsigned := reg.pushImage(t, "app/web", "v2")
	if _, err := verifyRef(t, v, unsigned); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("err = %v, want ErrUnsigned", err)
	}
	signClassic(t, unsigned, key)
	if _, err := verifyRef(t, v, unsigned); err != nil {
		t.Fatalf("after signing: %v", err)
	}
}

func TestVerifyMissingArtifact(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	key := newKey(t, dir, "cosign", "p256", crypto.SHA256)
	reg.pushImage(t, "app/web", "v1")
	v := verifierFor(t, dir, trustYAML(reg.host, []testKey{key}))
	_, err := v.Verify(context.Background(), reg.host+"/app/web@sha256:"+strings.Repeat("0", 64))
	if err == nil || !strings.Contains(err.Error(), "not in the registry") {
		t.Fatalf("err = %v, want a not-found error", err)
	}
}

// sigTag is cosign's signature tag for d.
func sigTag(d name.Digest) string {
	return strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig"
}

// copyTag copies the manifest (and blobs) of one tag to another.
func copyTag(t *testing.T, from, to name.Tag) {
	t.Helper()
	img, err := remote.Image(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(to, img); err != nil {
		t.Fatal(err)
	}
}
