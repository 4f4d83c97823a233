package signing

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A key made by NewKey signs what the Verifier then accepts, and only
// under that key.
func TestKeySignsWhatTheVerifierAccepts(t *testing.T) {
	reg := newRegistry(t)
	d := reg.pushImage(t, "quickstart/web", "v1")
	dir := t.TempDir()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := k.WritePublic(filepath.Join(dir, "keys", "release.pub")); err != nil {
		t.Fatal(err)
	}
	trust := "artifacts:\n  - match: \"" + reg.host + "/quickstart/*\"\n    keys: [\"keys/release.pub\"]\ncommits:\n  mode: off\n"
	v := verifierFor(t, dir, trust)
	if _, err := v.Verify(context.Background(), d.String()); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("before signing: %v, want ErrUnsigned", err)
	}
	if err := k.Sign(context.Background(), d.String()); err != nil {
		t.Fatal(err)
	}
	verdict, err := verifierFor(t, dir, trust).Verify(context.Background(), d.String())
	if err != nil || verdict.Format != FormatCosignSig {
		t.Fatalf("after signing: %+v, %v", verdict, err)
	}
	if err := k.Sign(context.Background(), reg.host+"/quickstart/web:v1"); !errors.Is(err, ErrNotPinned) {
		t.Fatalf("signing a tag: %v, want ErrNotPinned", err)
	}
}
