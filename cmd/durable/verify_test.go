package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/durable-delivery/durable/signing"
)

// pushRandom pushes a small random image to a registry on 127.0.0.1 and
// returns its tag and digest references.
func pushRandom(t *testing.T) (tag, digest string) {
	t.Helper()
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/team/web:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.String(), ref.Context().Digest(d.String()).String()
}

func TestVerifyCommand(t *testing.T) {
	tag, digest := pushRandom(t)
	dir := t.TempDir()
	key, err := signing.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dir, "release.pub")
	if err := key.WritePublic(pub); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := durable(t, "", "verify", digest, "--key", pub)
	if code != exitFailed || !strings.Contains(errOut, "not verified") || !strings.Contains(errOut, signing.ErrUnsigned.Error()) {
		t.Fatalf("unsigned: exit %d, stderr %s", code, errOut)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.pub"), []byte("not a PEM key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := key.Sign(context.Background(), digest); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := durable(t, "", "verify", digest, "--key", pub)
	if code != exitOK || !strings.Contains(out, `"format": "cosign-sig"`) {
		t.Fatalf("signed: exit %d, out %s, err %s", code, out, errOut)
	}
	// One JSON style: lower camel case throughout, the signer's too.
	var verdict map[string]any
	if err := json.Unmarshal([]byte(out), &verdict); err != nil {
		t.Fatal(err)
	}
	signer, _ := verdict["signer"].(map[string]any)
	if signer["identity"] != pub || signer["method"] != "cosign-key" || !strings.HasPrefix(fmt.Sprint(signer["key"]), "sha256:") {
		t.Fatalf("the verdict's signer is not in lower camel case: %s", out)
	}
	for field := range verdict {
		if field != strings.ToLower(field[:1])+field[1:] {
			t.Errorf("verdict field %q is not lower camel case", field)
		}
	}

	// Another key: the refusal names it, and no file the user never made.
	other, err := signing.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	otherPub := filepath.Join(dir, "other.pub")
	if err := other.WritePublic(otherPub); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = durable(t, "", "verify", digest, "--key", otherPub)
	if code != exitFailed || !strings.Contains(errOut, "--key "+otherPub) || strings.Contains(errOut, "trust.yaml") || strings.Contains(errOut, os.TempDir()+"/durable-verify") {
		t.Fatalf("another key: exit %d, stderr %s", code, errOut)
	}
	code, _, errOut = durable(t, "", "verify", digest, "--key", filepath.Join(dir, "bad.pub"))
	if code != exitFailed || strings.Contains(errOut, "trust.yaml") || !strings.Contains(errOut, "--key: "+filepath.Join(dir, "bad.pub")) {
		t.Fatalf("not a key: exit %d, stderr %s", code, errOut)
	}
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"a tag", []string{"verify", tag, "--key", pub}, exitUsage},
		{"no key nor trust", []string{"verify", digest}, exitUsage},
		{"both key and trust", []string{"verify", digest, "--key", pub, "--trust", pub}, exitUsage},
		{"missing key file", []string{"verify", digest, "--key", filepath.Join(dir, "nope.pub")}, exitFailed},
		{"not a key", []string{"verify", digest, "--key", filepath.Join(dir, "bad.pub")}, exitFailed},
		{"broken trust file", []string{"verify", digest, "--trust", filepath.Join(dir, "bad.yaml")}, exitFailed},
	} {
		if err := os.WriteFile(filepath.Join(dir, "bad.pub"), []byte("not a PEM key"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("artifacts:\n  - match: [\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, _, _ := durable(t, "", tc.args...); code != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, code, tc.want)
		}
	}
}

func TestPinCommand(t *testing.T) {
	tag, digest := pushRandom(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "release.cue")
	if err := os.WriteFile(file, []byte("package x\n\nservices: web: artifact: \""+tag+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := durable(t, "", "pin", file)
	if code != exitOK || !strings.Contains(out, file+":3:") || !strings.Contains(out, digest) {
		t.Fatalf("pin: exit %d, out %s, err %s", code, out, errOut)
	}
	b, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(b), `artifact: "`+digest+`"`) {
		t.Fatalf("pinned file: %s, %v", b, err)
	}
	if code, _, _ := durable(t, "", "pin"); code != exitUsage {
		t.Fatalf("pin without files: exit %d", code)
	}
	gone := filepath.Join(dir, "gone.cue")
	if err := os.WriteFile(gone, []byte("services: web: artifact: \""+strings.Replace(tag, ":v1", ":nope", 1)+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := durable(t, "", "pin", gone); code != exitFailed || errOut == "" {
		t.Fatalf("a tag that does not exist: exit %d, stderr %q", code, errOut)
	}
}
