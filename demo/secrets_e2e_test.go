package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
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

// TestSecretsStayOnTheHost gives the service a secret from a file on the
// reconciler's host: the instances get it, while the journal, the status
// and the logs never hold its value; changing the file rolls out a new
// release with the new value, with no commit and no failed request.
func TestSecretsStayOnTheHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := newFixture(t, ctx)
	secretFile := filepath.Join(f.dir, "secrets", "web")
	if err := os.MkdirAll(filepath.Dir(secretFile), 0o700); err != nil {
		t.Fatal(err)
	}
	first, second := "first-s3cret-value-7d1c", "second-s3cret-value-9e2f"
	if err := os.WriteFile(secretFile, []byte(first+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ref := fmt.Sprintf("package %s\n\nservices: web: run: secretEnv: SECRET: file: %q\n", f.repo.pkg(), secretFile)
	if err := os.WriteFile(filepath.Join(f.repo.dir, "secret.cue"), []byte(ref), 0o644); err != nil {
		t.Fatal(err)
	}
	st := f.story()
	c1 := f.commit(ctx, f.artifacts["v1"], "", "Deploy web v1 with its secret")
	f.startReconciler(ctx)
	if !st.phase(ctx, "deploy v1", c1, "v1") {
		t.Fatalf("v1 did not converge:\n%s", f.logs())
	}
	sum := func(v string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(v))) }
	if got := secretSum(t, f.router); got != sum(first) {
		t.Fatalf("the instance got secret %s, want the file's (%s)", got, sum(first))
	}
	st.load = startLoad(ctx, f.router, 2, 5*time.Millisecond)
	t.Cleanup(st.load.stop)

	// A new value on the host: a new release, no commit.
	s1, err := f.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte(second+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the new secret to be served", func() bool {
		s, err := f.api.Status(ctx)
		return err == nil && s.Services[0].Release != s1.Services[0].Release && servesCommit(s, c1) && secretSum(t, f.router) == sum(second)
	})
	st.assertNoFailedRequests(t)

	f.assertNoSecretKept(ctx, t, first, second)
}

// assertNoSecretKept checks that nothing the reconciler keeps or shows (its
// status, its journal, as served and on disk, its log) holds any of values.
func (f *fixture) assertNoSecretKept(ctx context.Context, t *testing.T, values ...string) {
	t.Helper()
	s, err := f.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	status, _ := json.Marshal(s)
	entries, err := f.api.Journal(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	journal, _ := json.Marshal(entries)
	db, err := os.ReadFile(filepath.Join(f.dir, "state", "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	for what, b := range map[string][]byte{"status": status, "journal": journal, "journal.db": db, "log": []byte(f.logs())} {
		for _, secret := range values {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("the %s holds a secret's value", what)
			}
		}
	}
}
