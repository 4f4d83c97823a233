package pipeline

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// secretSum asks the router which secret (by its SHA-256) answers.
func secretSum(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("X-Secret-Sha256")
}

// TestSecretsStayOnTheHost gives the service a secret from a file in the
// operator's secrets directory: the instances get it, while the journal,
// the status, the logs and the state directories never hold its value in
// any form; changing the file rolls out a new release with the new value,
// with no commit and no failed request.
func TestSecretsStayOnTheHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	secretFile := filepath.Join(f.SecretsDir(), "web")
	first, second := "first-s3cret-value-7d1c", "second-s3cret-value-9e2f"
	if err := os.WriteFile(secretFile, []byte(first+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ref := fmt.Sprintf("package %s\n\nservices: web: run: secretEnv: SECRET: file: \"web\"\n", f.Repo.Pkg())
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "secret.cue"), []byte(ref), 0o644); err != nil {
		t.Fatal(err)
	}
	st := f.Story()
	c1 := f.Commit(ctx, f.Artifacts["v1"], "", "Deploy web v1 with its secret")
	f.StartReconciler(ctx)
	if !st.Promoted(ctx, "deploy v1", c1, "v1") {
		t.Fatalf("v1 did not converge:\n%s", f.Logs())
	}
	sum := func(v string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(v))) }
	if got := secretSum(t, f.Router); got != sum(first) {
		t.Fatalf("the instance got secret %s, want the file's (%s)", got, sum(first))
	}
	st.Load = harness.StartLoad(ctx, f.Router, 2, 5*time.Millisecond)
	t.Cleanup(st.Load.Stop)

	// A new value on the host: a new release, no commit.
	s1, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte(second+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e2etest.WaitFor(ctx, t, "the new secret to be served", func() bool {
		s, err := f.API.Status(ctx)
		return err == nil && s.Services[0].Release != s1.Services[0].Release && harness.ServesCommit(s, c1) && secretSum(t, f.Router) == sum(second)
	})
	st.AssertNoFailedRequests(t)

	f.AssertNoSecretKept(ctx, t, first, second)
}
