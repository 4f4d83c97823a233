package demo

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/durable-delivery/durable/secrets/sops/sopstest"
)

// TestSopsSecretFromTheRepository keeps a secret in the repository,
// encrypted with SOPS to the reconciler's age key: the instances get its
// value; a commit that changes the value rolls out a new release with no
// failed request; re-encrypting the same value makes no new release; and
// nothing the reconciler keeps or shows holds a value.
func TestSopsSecretFromTheRepository(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := newFixture(t, ctx)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(f.dir, "age.txt")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.extraArgs = append(f.extraArgs, "--sops-age-key-file", keyFile)
	encrypted := filepath.Join(f.repo.dir, "secrets", "web.enc.yaml")
	encrypt := func(value string) {
		t.Helper()
		enc, err := sopstest.Encrypt(encrypted, []byte("db:\n  password: "+value+"\n"), sopstest.Options{}, id.Recipient().String())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(encrypted), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(encrypted, enc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	first, second := "first-sops-value-51ab", "second-sops-value-c08d"
	encrypt(first)
	ref := fmt.Sprintf("package %s\n\nservices: web: run: secretEnv: SECRET: sops: {file: \"secrets/web.enc.yaml\", key: \"db.password\"}\n", f.repo.pkg())
	if err := os.WriteFile(filepath.Join(f.repo.dir, "secret.cue"), []byte(ref), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ := f.serveV1(ctx, "Deploy web v1 with its SOPS secret")
	sum := func(v string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(v))) }
	if got := secretSum(t, f.router); got != sum(first) {
		t.Fatalf("the instance got secret %s, want the SOPS file's (%s)", got, sum(first))
	}
	s1, err := f.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// A new value, committed: a new release, rolled out like any other.
	encrypt(second)
	c2, err := f.repo.commit(ctx, "Rotate the database password")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.api.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the new secret to be served", func() bool {
		s, err := f.api.Status(ctx)
		return err == nil && s.Services[0].Release != s1.Services[0].Release && servesCommit(s, c2) && secretSum(t, f.router) == sum(second)
	})
	st.assertNoFailedRequests(t)

	// The same value encrypted again (a new data key, new ciphertext): the
	// revision is applied, and the release does not change.
	s2, err := f.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	encrypt(second)
	c3, err := f.repo.commit(ctx, "Re-encrypt the secrets to the same key")
	if err != nil {
		t.Fatal(err)
	}
	s3 := f.judged(ctx, t, c3)
	waitFor(ctx, t, "the re-encrypted revision to be applied", func() bool {
		s3, err = f.api.Status(ctx)
		return err == nil && s3.Applied != nil && s3.Applied.Commit == c3
	})
	if s3.Services[0].Release != s2.Services[0].Release {
		t.Errorf("re-encrypting the same value made release %s, want %s kept", s3.Services[0].Release, s2.Services[0].Release)
	}
	f.assertNoSecretKept(ctx, t, first, second)
}
