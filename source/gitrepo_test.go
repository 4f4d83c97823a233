package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/internal/gittest"
)

// newRepo makes a repository with branch main holding files, and returns its
// path and first commit.
func newRepo(t *testing.T, files map[string]string) (string, string) {
	t.Helper()
	gittest.Env(t)
	dir := filepath.Join(t.TempDir(), "repo")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, dir, "init", "-q", "-b", "main")
	return dir, commitFiles(t, dir, "first", files)
}

// commitFiles writes files (a "" content removes the file; a content
// starting with "->" makes a symlink to the rest) and commits them.
func commitFiles(t *testing.T, dir, message string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case content == "":
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(content, "->"):
			if err := os.Symlink(strings.TrimPrefix(content, "->"), p); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	gittest.Run(t, dir, "add", "-A")
	gittest.Run(t, dir, "commit", "-q", "--allow-empty", "-m", message)
	return gittest.Run(t, dir, "rev-parse", "HEAD")
}
