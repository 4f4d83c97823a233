package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/schema"
)

func TestResolveSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "db")
	if err := os.WriteFile(file, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DURABLE_TEST_TOKEN", "tok-123")
	svc := schema.Service{Name: "web", Run: schema.Run{SecretEnv: map[string]schema.SecretRef{
		"DB": {File: file}, "TOKEN": {Env: "DURABLE_TEST_TOKEN"}}}}
	got, err := resolveSecrets(svc)
	if err != nil || got["DB"] != "hunter2" || got["TOKEN"] != "tok-123" {
		t.Fatalf("resolved %v, %v", got, err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxSecretBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := schema.Service{Name: "web", Run: schema.Run{SecretEnv: map[string]schema.SecretRef{
		"A": {File: filepath.Join(dir, "missing")},
		"B": {Env: "DURABLE_TEST_NOT_SET"},
		"C": {File: file, Env: "DURABLE_TEST_TOKEN"},
		"D": {File: big},
	}}}
	_, err = resolveSecrets(bad)
	for _, want := range []string{
		"services.web.run.secretEnv.A: secret file " + filepath.Join(dir, "missing") + ": no such file or directory",
		"services.web.run.secretEnv.B: the reconciler has no environment variable DURABLE_TEST_NOT_SET",
		"services.web.run.secretEnv.C: give exactly one of file or env",
		"services.web.run.secretEnv.D: secret file " + big + " is over",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v: want it to contain %q", err, want)
		}
	}
	if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "tok-123")) {
		t.Fatalf("an error holds a secret's value: %v", err)
	}
}

func TestSecretsDigestFollowsValuesNotNames(t *testing.T) {
	r := &Reconciler{}
	r.cfg.Host.StateDir = t.TempDir()
	a, err := r.secretsDigest(map[string]string{"DB": "one"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := r.secretsDigest(map[string]string{"DB": "two"})
	again, _ := r.secretsDigest(map[string]string{"DB": "one"})
	if a == b || a != again || strings.Contains(a, "one") {
		t.Fatalf("digests %s %s %s", a, b, again)
	}
}
