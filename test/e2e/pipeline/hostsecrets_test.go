package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// leakyPlugin is an exec runtime that prints the secret SECRET of the set
// it is asked to ensure to its standard error — as it is, in base64
// (both alphabets), hex, query- and path-escaped — and fails: what a
// careless plug-in's error message does. It observes no set.
const leakyPlugin = `#!/bin/sh
req=$(cat)
case "$req" in
*'"op":"observe"'*) echo '{"result": []}'; exit 0 ;;
esac
v=$(printf '%s' "$req" | sed -n 's/.*"SECRET":"\([^"]*\)".*/\1/p')
{
	printf 'cannot start with SECRET=%s\n' "$v"
	printf 'base64: %s\n' "$(printf '%s' "$v" | base64 -w0)"
	printf 'base64url: %s\n' "$(printf '%s' "$v" | base64 -w0 | tr '+/' '-_')"
	printf 'hex: %s\n' "$(printf '%s' "$v" | od -An -tx1 | tr -d ' \n')"
	printf 'query: %s\n' "$(printf '%s' "$v" | sed 's/ /+/g; s,/,%2F,g')"
	printf 'path: %s\n' "$(printf '%s' "$v" | sed 's/ /%20/g; s,/,%2F,g')"
} >&2
exit 1
`

// TestExecPluginErrorsAreRedacted runs a service on an exec plug-in that
// prints the secret it gets, raw and encoded, in its error: the error is
// journaled and logged with the value redacted in every form, and no file
// under the fixture's directory, nor the status or journal, holds it.
func TestExecPluginErrorsAreRedacted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	value := "leak me/s3cret-value-7d1c"
	if err := os.WriteFile(filepath.Join(f.SecretsDir(), "token"), []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(f.Dir, "plugin", "leaky.sh")
	if err := os.MkdirAll(filepath.Dir(plugin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plugin, []byte(leakyPlugin), 0o755); err != nil {
		t.Fatal(err)
	}
	f.Host.Plugins["leaky"] = []string{plugin}
	targets := fmt.Sprintf(`package %s

targets: local: {zone: "local", runtime: {kind: "exec", plugin: "leaky"}, traffic: {kind: "router", admin: %q}}
pipeline: stages: [{name: "local", targets: ["local"]}]
`, f.Repo.Pkg(), harness.ExampleRouter)
	secret := fmt.Sprintf("package %s\n\nservices: web: run: secretEnv: SECRET: file: \"token\"\n", f.Repo.Pkg())
	for name, text := range map[string]string{"targets.cue": targets, "secret.cue": secret} {
		if err := os.WriteFile(filepath.Join(f.Repo.Dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.Commit(ctx, f.Artifacts["v1"], "", "Deploy web v1 on the leaky plug-in")
	f.StartReconciler(ctx)
	e2etest.WaitFor(ctx, t, "the plug-in's error to be journaled", func() bool {
		entries, err := f.API.Journal(ctx, 0, 1000)
		b, _ := json.Marshal(entries)
		return err == nil && strings.Contains(string(b), "cannot start with SECRET=")
	})
	entries, err := f.API.Journal(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(entries)
	if !strings.Contains(string(b), "cannot start with SECRET=[redacted secretEnv.SECRET]") {
		t.Errorf("the journal does not show the plug-in's error with the value redacted:\n%s", b)
	}
	// The reconciler logs the error after journaling it: on a loaded
	// machine the line may come a moment after the entry.
	e2etest.WaitFor(ctx, t, "the log to show the plug-in's error with the value redacted", func() bool {
		return strings.Contains(f.Logs(), "[redacted secretEnv.SECRET]")
	})
	f.AssertNoSecretKept(ctx, t, value)
}

// TestCommitterCannotReadHostFiles: a committer names a host file outside
// the secrets directory (the age identity next to it, /etc/passwd) or a
// variable of the reconciler the operator did not allow. Each revision is
// rejected with the fix, and what runs never gets the value; a variable
// the operator allows reaches the instances.
func TestCommitterCannotReadHostFiles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	dir := f.SecretsDir("DURABLE_ALLOWED_*")
	allowed := "allowed-env-value-4b1e"
	t.Setenv("DURABLE_ALLOWED_TOKEN", allowed) // the reconciler inherits it
	if err := os.WriteFile(filepath.Join(f.Dir, "age.txt"), []byte("AGE-SECRET-KEY-1NOTREALLYAKEY\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(f.Dir, "age.txt"), filepath.Join(dir, "key")); err != nil {
		t.Fatal(err)
	}
	st, _ := f.ServeV1(ctx, "Deploy web v1")
	for _, tc := range []struct{ ref, want string }{
		{`file: "/etc/passwd"`, `file: "/etc/passwd" is an absolute path: since this version secret files are named relative to the operator's --secrets-dir; write file: "passwd" and start durable run with --secrets-dir /etc`},
		{`file: "../age.txt"`, `file: "../age.txt" leaves the secrets directory`},
		{`file: "key"`, `secret file key in --secrets-dir ` + dir},
		{`env: "HOME"`, `the reconciler's variable HOME is not one the operator allows secrets from; start durable run with --secret-env HOME`},
	} {
		text := fmt.Sprintf("package %s\n\nservices: web: run: secretEnv: SECRET: %s\n", f.Repo.Pkg(), tc.ref)
		if err := os.WriteFile(filepath.Join(f.Repo.Dir, "secret.cue"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := f.Repo.Commit(ctx, "Read "+tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		s := f.Judged(ctx, t, c)
		if s.Head.Verdict != api.RevisionRejected || !strings.Contains(strings.Join(s.Head.Errors, "\n"), tc.want) {
			t.Errorf("revision with %s: %s %q, want it rejected saying %q", tc.ref, s.Head.Verdict, s.Head.Errors, tc.want)
		}
		if got := secretSum(t, f.Router); got != "" {
			t.Errorf("revision with %s: the instance got a secret (sha256 %s)", tc.ref, got)
		}
	}
	text := fmt.Sprintf("package %s\n\nservices: web: run: secretEnv: SECRET: env: \"DURABLE_ALLOWED_TOKEN\"\n", f.Repo.Pkg())
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "secret.cue"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := f.Repo.Commit(ctx, "Take the token the operator allows")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%x", sha256.Sum256([]byte(allowed)))
	e2etest.WaitFor(ctx, t, "the allowed variable to be served", func() bool {
		s, err := f.API.Status(ctx)
		return err == nil && harness.ServesCommit(s, c) && secretSum(t, f.Router) == want
	})
	st.AssertNoFailedRequests(t)
	f.AssertNoSecretKept(ctx, t, allowed)
}
