package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/internal/registrytest"
)

// durable keys new, then durable sign in each format, make an artifact in
// Debian's docker-registry that durable verify accepts under the new
// public key, with the attestation a trust rule requires; broken keys,
// passwords and flags are refused with what to do.
func TestKeysNewAndSignCommands(t *testing.T) {
	host, _ := registrytest.Start(t)
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(dir, "release")
	if code, out, errOut := durable(t, "", "keys", "new", "--output", prefix, "--password-file", pw); code != exitOK || !strings.Contains(out, "release.pub") {
		t.Fatalf("keys new: exit %d, %s%s", code, out, errOut)
	}
	bin := filepath.Join(dir, "web")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	predicate := filepath.Join(dir, "provenance.json")
	if err := os.WriteFile(predicate, []byte(`{"builder":{"id":"ci"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	trust := filepath.Join(dir, "trust.yaml")
	if err := os.WriteFile(trust, []byte("artifacts:\n  - match: \""+host+"/shop/*\"\n    keys: [release.pub]\n    attestations:\n      - predicateType: https://slsa.dev/provenance/v1\ncommits:\n  mode: off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"bundle", "cosign-sig"} {
		_, ref, _ := durable(t, "", "pack", bin, "--env", "FORMAT="+format, "--push", host+"/shop/web:"+format)
		ref = strings.TrimSpace(ref)
		code, out, errOut := durable(t, "", "sign", ref, "--key", prefix+".key", "--password-file", pw, "--format", format, "--attest", "https://slsa.dev/provenance/v1="+predicate)
		if code != exitOK || !strings.Contains(out, "attested https://slsa.dev/provenance/v1") {
			t.Fatalf("sign %s: exit %d, %s%s", format, code, out, errOut)
		}
		if code, out, errOut := durable(t, "", "verify", ref, "--trust", trust, "-o", "text"); code != exitOK {
			t.Fatalf("verify %s: exit %d, %s%s", format, code, out, errOut)
		}
	}
	_, ref, _ := durable(t, "", "pack", bin, "--env", "FORMAT=none", "--push", host+"/shop/web:none")
	ref = strings.TrimSpace(ref)
	readable := filepath.Join(dir, "readable.key")
	key, _ := os.ReadFile(prefix + ".key")
	if err := os.WriteFile(readable, key, 0o644); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrong, []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sign", ref}, exitUsage, "--key FILE is required"},
		{[]string{"sign", ref, "--key", prefix + ".key", "--format", "gpg"}, exitUsage, "use bundle or cosign-sig"},
		{[]string{"sign", ref, "--key", prefix + ".key", "--attest", "nofile"}, exitUsage, "write TYPE=FILE"},
		{[]string{"sign", ref, "--key", prefix + ".key", "--password-file", pw, "--attest", "t=" + filepath.Join(dir, "missing.json")}, exitFailed, "does not exist"},
		{[]string{"sign", ref, "--key", prefix + ".key", "--password-file", wrong}, exitFailed, "wrong password"},
		{[]string{"sign", ref, "--key", readable, "--password-file", pw}, exitFailed, "readable.key"},
		{[]string{"sign", ref, "--key", prefix + ".pub", "--password-file", pw}, exitFailed, "open to group or others"},
		{[]string{"sign", host + "/shop/web:none", "--key", prefix + ".key", "--password-file", pw}, exitUsage, "not pinned by digest"},
		{[]string{"keys", "new"}, exitUsage, "--output PREFIX is required"},
		{[]string{"keys", "new", "--output", prefix, "--password-file", pw}, exitFailed, "never overwritten"},
		{[]string{"keys", "new", "--output", filepath.Join(dir, "k2"), "--password-file", readable}, exitFailed, "readable.key"},
	} {
		code, _, errOut := durable(t, "", c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %s; want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
	if code, _, _ := durable(t, "", "verify", ref, "--trust", trust); code != exitFailed {
		t.Fatalf("the unsigned image verified: exit %d", code)
	}
}
