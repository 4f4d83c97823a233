//go:build unix

package schema

import (
	"path/filepath"
	"syscall"
	"testing"
)

// A named pipe would block a reader that opened it; the loader must refuse it
// without opening it.
func TestLoadDirNamedPipe(t *testing.T) {
	dir := quickstartDir(t)
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.cue"), 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	_, err := LoadDir(dir)
	want := "pipe.cue: is a named pipe, not a regular file; a .cue file at the root must be a plain file"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}
