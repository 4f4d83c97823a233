package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// durable validate --host-config checks the names targets give against
// the host file, as durable run does; without it, only their shape.
func TestValidateChecksNamesAgainstTheHostFile(t *testing.T) {
	dir := t.TempDir()
	hostFile := func(text string) string {
		f := filepath.Join(dir, "host.yaml")
		if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	const quickstart = "../../examples/quickstart"
	tests := []struct {
		name, host string
		want       int
		stderr     string
	}{
		{name: "names the quickstart's router", host: "routers:\n  edge: {admin: \"127.0.0.1:7071\"}\n", want: exitOK},
		{name: "names another router", host: "routers:\n  west: {admin: \"127.0.0.1:7072\"}\n", want: exitFailed,
			stderr: `targets.local.traffic.admin: router admin address "edge" is not in the host file ` + filepath.Join(dir, "host.yaml") + ` (it names west); name one of those, or add routers: {edge: `},
		{name: "broken host file", host: "routers:\n  edge: {admin: \"localhost\"}\n", want: exitFailed,
			stderr: `host.yaml:2:17: routers.edge.admin: "localhost" is neither HOST:PORT nor unix:///PATH`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := []string{"validate", "--host-config", hostFile(tt.host), quickstart}
			if code := executeWith(args, strings.NewReader(""), io.Discard, &stderr); code != tt.want {
				t.Fatalf("exit %d, want %d: %s", code, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr\n%s\nwant it to contain\n%s", stderr.String(), tt.stderr)
			}
		})
	}
	// Without --host-config, the names' shape only.
	if code := execute([]string{"validate", quickstart}); code != exitOK {
		t.Errorf("validate without --host-config: exit %d", code)
	}
}
