package pipeline

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/secrets/sops/sopstest"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestSopsSecretFromTheRepository keeps a secret in the repository,
// encrypted with SOPS to the reconciler's age key: the instances get its
// value; a commit that changes the value rolls out a new release with no
// failed request; re-encrypting the same value makes no new release; and
// nothing the reconciler keeps or shows holds a value.
func TestSopsSecretFromTheRepository(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(f.Dir, "age.txt")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.ExtraArgs = append(f.ExtraArgs, "--sops-age-key-file", keyFile)
	encrypted := filepath.Join(f.Repo.Dir, "secrets", "web.enc.yaml")
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
	ref := fmt.Sprintf("package %s\n\nservices: web: run: secretEnv: SECRET: sops: {file: \"secrets/web.enc.yaml\", key: \"db.password\"}\n", f.Repo.Pkg())
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "secret.cue"), []byte(ref), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ := f.ServeV1(ctx, "Deploy web v1 with its SOPS secret")
	sum := func(v string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(v))) }
	if got := secretSum(t, f.Router); got != sum(first) {
		t.Fatalf("the instance got secret %s, want the SOPS file's (%s)", got, sum(first))
	}
	s1, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// A new value, committed: a new release, rolled out like any other.
	encrypt(second)
	c2, err := f.Repo.Commit(ctx, "Rotate the database password")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	e2etest.WaitFor(ctx, t, "the new secret to be served", func() bool {
		s, err := f.API.Status(ctx)
		return err == nil && s.Services[0].Release != s1.Services[0].Release && harness.ServesCommit(s, c2) && secretSum(t, f.Router) == sum(second)
	})
	st.AssertNoFailedRequests(t)

	// The same value encrypted again (a new data key, new ciphertext): the
	// revision is applied, and the release does not change.
	s2, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	encrypt(second)
	c3, err := f.Repo.Commit(ctx, "Re-encrypt the secrets to the same key")
	if err != nil {
		t.Fatal(err)
	}
	s3 := f.Judged(ctx, t, c3)
	e2etest.WaitFor(ctx, t, "the re-encrypted revision to be applied", func() bool {
		s3, err = f.API.Status(ctx)
		return err == nil && s3.Applied != nil && s3.Applied.Commit == c3
	})
	if s3.Services[0].Release != s2.Services[0].Release {
		t.Errorf("re-encrypting the same value made release %s, want %s kept", s3.Services[0].Release, s2.Services[0].Release)
	}
	f.AssertNoSecretKept(ctx, t, first, second)
}
