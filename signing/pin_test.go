package signing

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	reg := newRegistry(t)
	d := reg.pushImage(t, "quickstart/web", "v1")
	ctx := context.Background()

	got, err := Resolve(ctx, reg.host+"/quickstart/web:v1")
	if err != nil || got != d.String() {
		t.Fatalf("Resolve(tag) = %q, %v; want %q", got, err, d.String())
	}
	if got, err := Resolve(ctx, d.String()); err != nil || got != d.String() {
		t.Errorf("Resolve(pinned) = %q, %v", got, err)
	}
	if _, err := Resolve(ctx, reg.host+"/quickstart/web:v9"); err == nil || !strings.Contains(err.Error(), "no such tag") {
		t.Errorf("Resolve(missing tag) err = %v", err)
	}
	reg.server.Close()
	if _, err := Resolve(ctx, reg.host+"/quickstart/web:v1"); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Resolve(registry down) err = %v, want ErrUnreachable", err)
	}
}

func TestPinFile(t *testing.T) {
	reg := newRegistry(t)
	web := reg.pushImage(t, "quickstart/web", "v2")
	api := reg.pushImage(t, "quickstart/api", "latest")
	pinned := reg.host + "/quickstart/db@sha256:" + strings.Repeat("ab", 32)
	resolve := func(ctx context.Context, ref string) (string, error) { return Resolve(ctx, ref) }

	file := filepath.Join(t.TempDir(), "release.cue")
	content := `package demo

services: web: artifact: "` + reg.host + `/quickstart/web:v2"
services: api: {
	artifact: "` + reg.host + `/quickstart/api"
}
services: db: artifact: "` + pinned + `"
// services: old: artifact: "` + reg.host + `/quickstart/old:v0"
notes: "the artifact: field is pinned"
`
	writeFile(t, file, content)
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}

	changes, err := PinFile(context.Background(), file, resolve)
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{
		{File: file, Line: 3, Col: 26, From: reg.host + "/quickstart/web:v2", To: web.String()},
		{File: file, Line: 5, Col: 12, From: reg.host + "/quickstart/api", To: api.String()},
	}
	if len(changes) != len(want) {
		t.Fatalf("changes = %v, want %v", changes, want)
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Errorf("change %d = %v, want %v", i, changes[i], want[i])
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	expected := strings.NewReplacer(
		`"`+reg.host+`/quickstart/web:v2"`, `"`+web.String()+`"`,
		`"`+reg.host+`/quickstart/api"`, `"`+api.String()+`"`,
	).Replace(content)
	if string(data) != expected {
		t.Errorf("file =\n%s\nwant\n%s", data, expected)
	}
	if info, _ := os.Stat(file); info.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600 kept", info.Mode().Perm())
	}

	// Pinning again changes nothing.
	if again, err := PinFile(context.Background(), file, resolve); err != nil || len(again) != 0 {
		t.Errorf("second pin = %v, %v", again, err)
	}
}

// TestPinFileFailure: one unresolvable reference leaves the file untouched
// and names its position.
func TestPinFileFailure(t *testing.T) {
	reg := newRegistry(t)
	reg.pushImage(t, "quickstart/web", "v1")
	file := filepath.Join(t.TempDir(), "release.yaml")
	content := "services:\n  web:\n    artifact: \"" + reg.host + "/quickstart/web:v1\"\n  api:\n    artifact: \"" + reg.host + "/quickstart/api:v1\"\n"
	writeFile(t, file, content)

	_, err := PinFile(context.Background(), file, func(ctx context.Context, ref string) (string, error) { return Resolve(ctx, ref) })
	if err == nil || !strings.HasPrefix(err.Error(), file+":5:15: ") {
		t.Fatalf("err = %v, want one positioned at %s:5:15", err, file)
	}
	if data, _ := os.ReadFile(file); string(data) != content {
		t.Errorf("file changed to\n%s", data)
	}
}
