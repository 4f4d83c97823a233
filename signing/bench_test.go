package signing

import (
	"context"
	"crypto"
	"testing"
)

// The benchmarks verify one signed artifact (classic cosign signature, ECDSA
// P-256) held by go-containerregistry's registry on 127.0.0.1, over plain
// HTTP: cold builds a new Verifier per iteration, so every round trip and
// check is paid; warm reuses one, so the verdict comes from its cache.

func benchmarkSetup(b *testing.B) (*Trust, string) {
	reg := newRegistry(b)
	dir := b.TempDir()
	key := newKey(b, dir, "cosign", "p256", crypto.SHA256)
	d := reg.pushImage(b, "bench/web", "v1")
	signClassic(b, d, key)
	v := verifierFor(b, dir, trustYAML(reg.host, []testKey{key}))
	return v.trust, d.String()
}

func BenchmarkVerifyCold(b *testing.B) {
	trust, ref := benchmarkSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v, err := NewVerifier(trust)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.Verify(ctx, ref); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyWarm(b *testing.B) {
	trust, ref := benchmarkSetup(b)
	ctx := context.Background()
	v, err := NewVerifier(trust)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := v.Verify(ctx, ref); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, ref); err != nil {
			b.Fatal(err)
		}
	}
}
