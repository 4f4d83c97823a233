package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// extractLimits bound what extract reads and writes of one tar stream.
type extractLimits struct {
	bytes   int64 // the content of every regular file written, together
	file    int64 // the content of one regular file
	entries int   // the stream's entries, of every kind
}

// commitLimits bound the tree of one commit that approve loads. A desired
// state is a few files of text, far below them; a tree above them is
// refused rather than written to disk whole.
var commitLimits = extractLimits{bytes: 256 << 20, file: 32 << 20, entries: 100_000}

// pastLimits says how a repository whose tree is over commitLimits gets
// past them: approve reads what git archive writes, which leaves out the
// paths marked export-ignore.
const pastLimits = "mark the paths durable need not read export-ignore in the repository's .gitattributes"

// extract writes the regular files with local names of a tar stream into
// dir, and nothing else: no link, no special file, no file outside dir.
// It refuses a stream over lim with an error that names the limit, before
// writing the entry that would pass it.
func extract(r io.Reader, dir string, lim extractLimits) error {
	tr := tar.NewReader(r)
	var written int64
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the tree after %d entries: %w", n, err)
		}
		if n >= lim.entries {
			return fmt.Errorf("the tree has more than %d entries, the most durable reads; %s", lim.entries, pastLimits)
		}
		if h.Typeflag != tar.TypeReg || !filepath.IsLocal(h.Name) {
			continue
		}
		if h.Size > lim.file {
			return fmt.Errorf("%s: %d bytes, more than the %d durable reads of one file; %s", h.Name, h.Size, lim.file, pastLimits)
		}
		if h.Size > lim.bytes-written {
			return fmt.Errorf("%s: the tree's files are larger than %d bytes together, the most durable reads; %s", h.Name, lim.bytes, pastLimits)
		}
		written += h.Size
		if err := extractFile(tr, filepath.Join(dir, h.Name)); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
}

// extractFile writes the current entry of tr, a regular file, to name,
// which must not exist yet.
func extractFile(tr *tar.Reader, name string) error {
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
