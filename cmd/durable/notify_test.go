package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// durable run --notify with a broken notifications file does not start,
// and says where the file is wrong.
func TestRunRefusesABrokenNotificationsFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "notify.yaml")
	text := "sinks:\n  ops: {kind: webhook, url: \"ftp://h/\", events: [rollout.exploded]}\n"
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	args := []string{"run", "--insecure-skip-verify", "--repo", dir, "--notify", file, "--state", t.TempDir(), "--listen", "127.0.0.1:0"}
	if code := executeWith(args, strings.NewReader(""), &bytes.Buffer{}, &stderr); code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailed, stderr.String())
	}
	for _, want := range []string{"--notify:\n", file + ":2:8: sinks.ops: secretFile is missing", file + ":2:29: sinks.ops.url: \"ftp://h/\" is not an http or https URL",
		file + ":2:50: sinks.ops.events[0]: \"rollout.exploded\" is not an event type"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
