// Package tarfiles writes the regular files of a tar stream into a folder,
// within limits on what the stream may make it write. It never writes a
// link, a special file, or anything outside the folder. It is its own
// package, importing nothing of the project, so that its fuzz target's
// binary is small: coverage-guided fuzzing scans every counter of the
// binary at each input.
package tarfiles

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrOverLimit is the error of a stream over its Limits; the message names
// the limit.
var ErrOverLimit = errors.New("over a limit of what is extracted")

// Limits bound what Extract reads and writes of one tar stream.
type Limits struct {
	Bytes   int64 // the content of every regular file written, together
	File    int64 // the content of one regular file
	Entries int   // the stream's entries, of every kind
}

// Extract writes the regular files with local names of a tar stream into
// dir, and nothing else. It refuses a stream over lim, before writing the
// entry that would pass it, with an error that names the limit and wraps
// ErrOverLimit. A sparse entry counts at its full size, as a tar reader
// expands its holes.
func Extract(r io.Reader, dir string, lim Limits) error {
	tr := tar.NewReader(r)
	var written int64
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the tar stream after %d entries: %w", n, err)
		}
		if n >= lim.Entries {
			return fmt.Errorf("the stream has more than %d entries: %w", lim.Entries, ErrOverLimit)
		}
		if h.Typeflag != tar.TypeReg || !filepath.IsLocal(h.Name) {
			continue
		}
		if h.Size > lim.File {
			return fmt.Errorf("%s: %d bytes, more than the %d of one file: %w", h.Name, h.Size, lim.File, ErrOverLimit)
		}
		if h.Size > lim.Bytes-written {
			return fmt.Errorf("%s: the files are larger than %d bytes together: %w", h.Name, lim.Bytes, ErrOverLimit)
		}
		written += h.Size
		if err := writeFile(tr, filepath.Join(dir, h.Name)); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
}

// writeFile writes the current entry of tr, a regular file, to name,
// which must not exist yet.
func writeFile(tr *tar.Reader, name string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, tr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
