package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"

	"github.com/durable-delivery/durable/schema"
)

// oneFileRepo is a desired state in one YAML file, valid but for replicas
// when bad.
func oneFileRepo(bad bool) string {
	replicas := "1"
	if bad {
		replicas = `"two"`
	}
	return `services:
  web:
    artifact: "r.example/web@sha256:` + strings.Repeat("1", 64) + `"
    run: {port: 8080, replicas: ` + replicas + `}
targets:
  local: {zone: z, runtime: {kind: process}, traffic: {kind: router, admin: "edge"}}
pipeline:
  stages: [{name: local, targets: [local]}]
`
}

// TestDocumentedCueVetOfOneFile runs the one-file cue vet commands of
// docs/schema.md, as written there, with the real cue tool at go.mod's CUE
// version: the one naming the schema's module in a repository with the
// cue.mod files the page shows, and the one naming the exported directory
// in a repository without any. Each passes a valid file and fails one
// with a wrong field.
func TestDocumentedCueVetOfOneFile(t *testing.T) {
	ref, err := schema.Reference()
	if err != nil {
		t.Fatal(err)
	}
	doc := string(ref)
	commands := regexp.MustCompile("`(cue vet -c -d '#DesiredState' [^`]+ durable.yaml)`").FindAllStringSubmatch(doc, -1)
	if len(commands) != 2 {
		t.Fatalf("docs/schema.md shows %d one-file cue vet commands, want 2 (with and without a cue.mod)", len(commands))
	}
	modules := regexp.MustCompile("(?s)// cue.mod/module.cue\n(.*?)// cue.mod/local-module.cue\n(.*?)```").FindStringSubmatch(doc)
	if modules == nil {
		t.Fatal("docs/schema.md shows no cue.mod files")
	}
	cue := cueTool(t)
	for i, command := range commands {
		withModule := strings.Contains(command[1], " durable.dev/schema ")
		if withModule != (i == 0) {
			t.Fatalf("command %d, %q: the page shows the module's command first", i, command[1])
		}
		for _, bad := range []bool{false, true} {
			repo := t.TempDir()
			files := map[string]string{"durable.yaml": oneFileRepo(bad)}
			if withModule {
				files["cue.mod/module.cue"], files["cue.mod/local-module.cue"] = modules[1], modules[2]
			}
			writeFiles(t, repo, files)
			if code, _, stderr := runCLI("schema", "export", filepath.Join(repo, "durable-schema")); code != exitOK {
				t.Fatalf("schema export: %s", stderr)
			}
			args := shellWords(strings.TrimPrefix(command[1], "cue "))
			c := exec.Command(cue, args...)
			c.Dir = repo
			out, err := c.CombinedOutput()
			switch {
			case !bad && err != nil:
				t.Errorf("%s, as documented, fails on a valid file: %v\n%s", command[1], err, out)
			case bad && (err == nil || !strings.Contains(string(out), "services.web.run.replicas")):
				t.Errorf("%s passes a file with replicas a string: %v\n%s", command[1], err, out)
			}
		}
	}
}

// shellWords splits a command line on spaces, keeping single-quoted words
// whole: enough for the documented commands.
func shellWords(line string) []string {
	var words []string
	for len(line) > 0 {
		line = strings.TrimLeft(line, " ")
		if rest, ok := strings.CutPrefix(line, "'"); ok {
			word, after, _ := strings.Cut(rest, "'")
			words, line = append(words, word), after
			continue
		}
		word, after, _ := strings.Cut(line, " ")
		words, line = append(words, word), after
	}
	return words
}

// cueTool builds the cue command at the CUE version this binary is built
// with (go.mod's) into the user's cache directory, once, and returns its
// path. It never skips: CI runs it too.
func cueTool(t *testing.T) string {
	t.Helper()
	version := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "cuelang.org/go" {
				version = dep.Version
				if dep.Replace != nil {
					version = dep.Replace.Version
				}
			}
		}
	}
	if version == "" {
		t.Fatal("the test binary does not say which version of cuelang.org/go it is built with")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "durable-cue", version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close() // and so unlocked
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("lock %s: %v", lock.Name(), err)
	}
	bin := filepath.Join(dir, "cue")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	c := exec.Command("go", "install", fmt.Sprintf("cuelang.org/go/cmd/cue@%s", version))
	c.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("build cue %s: %v\n%s", version, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "cue"), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}
