package signing

import (
	"context"
	"crypto"
	"errors"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/registrytest"
)

// Against the real registry server users run: a signed image verifies, an
// unsigned one is refused, and a registry that went away is unreachable.
func TestVerifyAgainstDistributionRegistry(t *testing.T) {
	host, stop := registrytest.Start(t)
	reg := &testRegistry{host: host}
	signed := reg.pushImage(t, "shop/web", "v1")
	unsigned := reg.pushImage(t, "shop/web", "v2")
	dir := t.TempDir()
	key := newKey(t, dir, "release", "p256", crypto.SHA256)
	signClassic(t, signed, key)
	v := verifierFor(t, dir, trustYAML(host, []testKey{key}))
	ctx := context.Background()

	verdict, err := v.Verify(ctx, signed.String())
	if err != nil || verdict.Format != FormatCosignSig || verdict.Signer.Identity != key.file {
		t.Fatalf("signed image: %+v, %v", verdict, err)
	}
	if _, err := v.Verify(ctx, unsigned.String()); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("unsigned image: %v, want ErrUnsigned", err)
	}
	stop()
	fresh := verifierFor(t, dir, trustYAML(host, []testKey{key}), WithTimeout(5*time.Second))
	if _, err := fresh.Verify(ctx, signed.String()); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("registry gone: %v, want ErrUnreachable", err)
	}
}
