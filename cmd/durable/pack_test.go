package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/internal/registrytest"
)

// durable pack pushes to a real registry and prints the image pinned by
// digest; packing the same file again prints the same; broken flags are
// usage errors that say what to write.
func TestPackCommand(t *testing.T) {
	host, _ := registrytest.Start(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "web")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho web\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := durable(t, "", "pack", bin, "--env", "MODE=prod", "--push", host+"/shop/web:v1")
	if code != exitOK || !strings.HasPrefix(out, host+"/shop/web@sha256:") {
		t.Fatalf("pack: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	_, again, _ := durable(t, "", "pack", bin, "--env", "MODE=prod", "--push", host+"/shop/web:v1-again")
	if again != out {
		t.Fatalf("packing again printed %q, first %q", again, out)
	}
	code, index, errOut := durable(t, "", "pack", "--binary", "linux/arm64="+bin, "--binary", "linux/amd64="+bin, "--entrypoint", "web", "--push", host+"/shop/web:multi", "-o", "json")
	var res packResult
	if err := json.Unmarshal([]byte(index), &res); code != exitOK || err != nil || res.Ref == strings.TrimSpace(out) ||
		res.Ref != host+"/shop/web@"+res.Digest || strings.Join(res.Platforms, ",") != "linux/arm64,linux/amd64" {
		t.Fatalf("index: exit %d, stdout %q, stderr %s (%v)", code, index, errOut, err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"pack", bin}, exitUsage, "--push REF is required"},
		{[]string{"pack", "--push", host + "/x"}, exitUsage, "give DIR or FILE"},
		{[]string{"pack", "--binary", "linux/amd64", "--push", host + "/x"}, exitUsage, "write PLATFORM=PATH"},
		{[]string{"pack", "--binary", "linux=" + bin, "--entrypoint", "web", "--push", host + "/x"}, exitUsage, "write OS/ARCH"},
		{[]string{"pack", "--binary", "linux/amd64=" + bin, "--push", host + "/x"}, exitUsage, "needs --entrypoint"},
		{[]string{"pack", bin, "--push", host + "/x@sha256:" + strings.Repeat("0", 64)}, exitUsage, "name a repository or a tag"},
		{[]string{"pack", bin, "--env", "PORT=80", "--push", host + "/x"}, exitUsage, "the runtimes set it"},
		{[]string{"pack", bin, "--label", "novalue", "--push", host + "/x"}, exitUsage, "write NAME=VALUE"},
		{[]string{"pack", bin, "--base", host + "/base:latest", "--push", host + "/x"}, exitUsage, "pinned by digest"},
		{[]string{"pack", filepath.Join(dir, "missing"), "--entrypoint", "web", "--push", host + "/x"}, exitFailed, "no such file"},
		{[]string{"pack", bin, "--push", "127.0.0.1:1/x"}, exitFailed, "push"},
	} {
		code, _, errOut := durable(t, "", c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %s; want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
}
