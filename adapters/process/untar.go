package process

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/durable-delivery/durable/adapters"
)

// maxEntries bounds how many entries one image may unpack.
const maxEntries = 100_000

// limits bound what one unpack may write.
type limits struct {
	bytes   int64 // total size of regular files
	entries int
}

// untar writes a flattened image's tar stream under dir.
//
// Invariant: nothing is written outside dir. Absolute names and names
// with a ".." element are refused; so are symlinks whose target leaves dir,
// hard links to anything outside it, and any entry whose path goes through
// a symlink an earlier entry placed (links that each stay inside can
// together point out). Device, fifo and other special entries are skipped:
// a process has no use for them and they are not safe to create. The first
// offending entry stops the unpack with an error that names it.
func untar(ctx context.Context, r io.Reader, dir string, lim limits) error {
	tr := tar.NewReader(r)
	var total int64
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read layer after %d entries: %w", n, err)
		}
		if n >= lim.entries {
			return fmt.Errorf("entry %q: the image has more than %d entries: %w", h.Name, lim.entries, adapters.ErrInvalid)
		}
		if err := unpackEntry(tr, h, dir, lim, &total); err != nil {
			return err
		}
	}
}

func unpackEntry(tr *tar.Reader, h *tar.Header, dir string, lim limits, total *int64) error {
	target, err := inside(dir, h.Name)
	if err != nil {
		return err
	}
	if err := noSymlinkOnPath(dir, target); err != nil {
		return fmt.Errorf("entry %q: %w", h.Name, err)
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
	case tar.TypeReg:
		*total += h.Size
		if *total > lim.bytes {
			return fmt.Errorf("entry %q: the image is larger than %d bytes unpacked (raise maxUnpackBytes if it is meant to be): %w", h.Name, lim.bytes, adapters.ErrInvalid)
		}
		return writeFile(tr, target, h)
	case tar.TypeSymlink:
		// Resolved from the link's own directory, without a leading "/", so
		// that climbing above the image shows as a leading "..".
		link := path.Join(path.Dir(path.Clean(h.Name)), h.Linkname)
		if path.IsAbs(h.Linkname) || link == ".." || strings.HasPrefix(link, "../") {
			return fmt.Errorf("entry %q: symlink to %q leaves the image: %w", h.Name, h.Linkname, adapters.ErrInvalid)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
		if err := os.Symlink(h.Linkname, target); err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
	case tar.TypeLink:
		src, err := inside(dir, h.Linkname)
		if err == nil {
			err = noSymlinkOnPath(dir, src)
		}
		if err != nil {
			return fmt.Errorf("entry %q: hard link to %q leaves the image: %w", h.Name, h.Linkname, adapters.ErrInvalid)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
		if err := os.Link(src, target); err != nil {
			return fmt.Errorf("entry %q: hard link to %q: %w", h.Name, h.Linkname, err)
		}
	}
	return nil
}

// inside resolves an entry name under dir, refusing absolute names and names
// with a ".." element.
func inside(dir, entry string) (string, error) {
	if strings.HasPrefix(entry, "/") {
		return "", fmt.Errorf("entry %q: an absolute name leaves the image: %w", entry, adapters.ErrInvalid)
	}
	if strings.Contains("/"+entry+"/", "/../") {
		return "", fmt.Errorf("entry %q: a name with \"..\" may leave the image: %w", entry, adapters.ErrInvalid)
	}
	if strings.ContainsRune(entry, 0) {
		return "", fmt.Errorf("entry %q: a name with a NUL byte: %w", entry, adapters.ErrInvalid)
	}
	return filepath.Join(dir, filepath.FromSlash(path.Clean("/"+entry))), nil
}

// noSymlinkOnPath refuses a path under dir that goes through a symlink an
// earlier entry placed, at any depth, itself included.
func noSymlinkOnPath(dir, target string) error {
	rel, err := filepath.Rel(dir, target)
	if err != nil || rel == "." {
		return err
	}
	p := dir
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil // nothing below a missing path exists yet
		}
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symlink placed by an earlier entry: %w", filepath.ToSlash(rel), adapters.ErrInvalid)
		}
	}
	return nil
}

// writeFile writes a regular file, never through a symlink, without the
// setuid, setgid or sticky bits, always readable by its owner.
func writeFile(r io.Reader, target string, h *tar.Header) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("entry %q: %w", h.Name, err)
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|syscall.O_NOFOLLOW, os.FileMode(h.Mode)&0o755|0o400)
	if err != nil {
		return fmt.Errorf("entry %q: %w", h.Name, err)
	}
	if _, err := io.CopyN(f, r, h.Size); err != nil {
		f.Close()
		return fmt.Errorf("entry %q: %w", h.Name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("entry %q: %w", h.Name, err)
	}
	return nil
}
