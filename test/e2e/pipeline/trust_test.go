package pipeline

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/signing"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestUntrustedRevisionsAreRefused commits, under load, an unsigned
// artifact, then one signed by a key the host does not trust, then (with
// the trust requiring signed commits) an unsigned commit: each revision is
// rejected with its reason and v1 keeps serving with no failed request.
func TestUntrustedRevisionsAreRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, c1 := e2etest.ServingV1UnderLoad(t, ctx)
	unsigned, err := examples.BuildAndPush(ctx, f.Registry, filepath.Join(f.Dir, "build"), "v3")
	if err != nil {
		t.Fatal(err)
	}

	refused := func(commit, want string) {
		t.Helper()
		s := f.Judged(ctx, t, commit)
		if s.Head.Verdict != api.RevisionRejected || len(s.Head.Errors) == 0 || !strings.Contains(strings.Join(s.Head.Errors, "\n"), want) {
			t.Fatalf("revision %.10s: verdict %s, errors %q; want rejected with %q", commit, s.Head.Verdict, s.Head.Errors, want)
		}
		if s.Applied == nil || s.Applied.Commit != c1 {
			t.Fatalf("applied revision moved to %+v", s.Applied)
		}
		pl := s.Services[0].Placements[0]
		if serving := e2etest.SetByID(pl, pl.Serving); serving == nil || serving.Artifact != f.Artifacts["v1"] {
			t.Fatalf("v1 no longer serves: %+v", pl)
		}
	}

	c := f.Commit(ctx, unsigned["v3"], "", "Deploy an unsigned v3")
	refused(c, "services.web.artifact "+unsigned["v3"]+" is not trusted: ")
	refused(c, signing.ErrUnsigned.Error())

	missing, _, _ := strings.Cut(f.Artifacts["v1"], "@")
	missing += "@sha256:" + strings.Repeat("0", 64)
	c = f.Commit(ctx, missing, `{MISSING: "1"}`, "Deploy an artifact the registry does not have")
	refused(c, "services.web.artifact "+missing+" is not trusted: ")

	other, err := signing.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Sign(ctx, unsigned["v3"]); err != nil {
		t.Fatal(err)
	}
	c = f.Commit(ctx, unsigned["v3"], `{SIGNED_BY: "someone else"}`, "Deploy v3 signed by an unknown key")
	refused(c, signing.ErrUntrusted.Error())

	// The host now requires every applied commit to be signed by an SRE's
	// SSH key; the repository's commits are not signed.
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(f.Trust)
	if err := os.WriteFile(filepath.Join(dir, "allowed_signers"), []byte("sre@example.com "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Trust)
	if err != nil {
		t.Fatal(err)
	}
	strict := strings.Replace(string(b), "  mode: off\n", "  mode: head\n  ssh: allowed_signers\n", 1)
	if strict == string(b) {
		t.Fatalf("trust file %s has no commits mode to change:\n%s", f.Trust, b)
	}
	if err := os.WriteFile(f.Trust, []byte(strict), 0o644); err != nil {
		t.Fatal(err)
	}
	// No restart: the reconciler reads its trust file again when it changes.
	c = f.Commit(ctx, f.Artifacts["v2"], `{}`, "Deploy v2 in an unsigned commit")
	refused(c, fmt.Sprintf("commit %s is not trusted (head mode of %s): ", c[:10], f.Trust))
	refused(c, signing.ErrCommitUnsigned.Error())

	st.AssertNoFailedRequests(t)
}
