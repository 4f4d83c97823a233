package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/schema"
)

// runCLI runs the command line and returns its exit code and output.
func runCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := executeWith(args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestSchemaExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "durable-schema")
	want, err := schema.Module()
	if err != nil {
		t.Fatal(err)
	}
	// Twice: a second export over the first one is allowed.
	for range 2 {
		code, stdout, stderr := runCLI("schema", "export", dir)
		if code != exitOK {
			t.Fatalf("schema export: exit %d: %s", code, stderr)
		}
		if !strings.Contains(stdout, schema.ModulePath) {
			t.Errorf("stdout %q does not name the module", stdout)
		}
	}
	for name, data := range want {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %v, content differs from schema.Module()", name, err)
		}
	}
}

// Exporting into a directory of something else, such as the repository's
// own root, overwrites nothing.
func TestSchemaExportRefusesAForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	own := "module: \"example.com/infra@v0\"\nlanguage: version: \"v0.17.0\"\n"
	mod := filepath.Join(dir, "cue.mod", "module.cue")
	if err := os.MkdirAll(filepath.Dir(mod), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mod, []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI("schema", "export", dir)
	if code != exitFailed || !strings.Contains(stderr, "is not empty and holds no earlier export of the schema") {
		t.Errorf("exit %d, stderr %q; want exit %d and a refusal", code, stderr, exitFailed)
	}
	if got, _ := os.ReadFile(mod); string(got) != own {
		t.Errorf("the repository's module file was overwritten: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "schema.cue")); err == nil {
		t.Error("schema.cue was written into the foreign directory")
	}
}

func TestSchemaDoc(t *testing.T) {
	want, err := schema.Reference()
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("schema", "doc")
	if code != exitOK || stdout != string(want) {
		t.Errorf("schema doc: exit %d, stderr %q, stdout matches Reference: %v", code, stderr, stdout == string(want))
	}
	out := filepath.Join(t.TempDir(), "schema.md")
	if code, _, stderr := runCLI("schema", "doc", "-o", out); code != exitOK {
		t.Fatalf("schema doc -o: exit %d: %s", code, stderr)
	}
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, want) {
		t.Errorf("schema doc -o wrote something else (%v)", err)
	}
}

func TestSchemaUsage(t *testing.T) {
	for _, args := range [][]string{
		{"schema"},
		{"schema", "export"},
		{"schema", "export", "a", "b"},
		{"schema", "doc", "extra"},
		{"schema", "doc", "--bogus"},
	} {
		if code, _, _ := runCLI(args...); code != exitUsage {
			t.Errorf("durable %v: exit %d, want %d", args, code, exitUsage)
		}
	}
	for _, args := range [][]string{{"schema", "--help"}, {"schema", "export", "--help"}, {"schema", "doc", "--help"}} {
		if code, _, _ := runCLI(args...); code != exitOK {
			t.Errorf("durable %v: exit %d, want %d", args, code, exitOK)
		}
	}
}
