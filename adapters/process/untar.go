package process

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/durable-delivery/durable/adapters"
)

// maxEntries bounds how many entries one image may unpack.
const maxEntries = 100_000

// maxLinkHops bounds the chain of symlinks one link's target may go
// through, as the kernel does (ELOOP after 40).
const maxLinkHops = 40

// limits bound what one unpack may read and write.
type limits struct {
	bytes   int64 // every byte of the uncompressed layers: headers and bodies, skipped or written
	entries int
}

// untar writes a flattened image's tar stream under dir.
//
// Invariant: nothing is written outside dir, and no symlink left in dir
// resolves outside it. Every write goes through an [os.Root] opened on dir,
// which cannot follow a link out. Absolute names and names with a ".."
// element are refused; so are hard links to anything outside dir, any entry
// whose path goes through a symlink an earlier entry placed, and symlinks
// whose target is absolute or, resolved as an instance would (through every
// link of the image, with ".." applied after each link is followed), leaves
// dir or goes through more than maxLinkHops links. Each symlink is checked
// when it is placed and again once the whole stream is unpacked, as a later
// link can change where an earlier one leads. Device, fifo and other special
// entries are skipped: a process has no use for them and they are not safe
// to create. Every byte read from r, headers and skipped bodies included,
// counts against lim.bytes. The first offending entry stops the unpack with
// an error that names it.
func untar(ctx context.Context, r io.Reader, dir string, lim limits) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	// The counter is no io.Seeker: tar.Reader reads skipped bodies through
	// it rather than seeking past them uncounted.
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	var links []string // every symlink placed, by its name under dir
	prev := ""         // the last entry's name, for an error reading the next
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			for _, l := range links {
				if err := checkLink(root, l); err != nil {
					return fmt.Errorf("entry %q: %w", l, err)
				}
			}
			return nil
		}
		if err != nil && n == 0 {
			return fmt.Errorf("read layer at its first entry: %w", err)
		}
		if err != nil {
			return fmt.Errorf("read layer after entry %q (%d entries): %w", prev, n, err)
		}
		prev = h.Name
		if n >= lim.entries {
			return fmt.Errorf("entry %q: the image has more than %d entries: %w", h.Name, lim.entries, adapters.ErrInvalid)
		}
		if cr.n > lim.bytes || h.Size > lim.bytes-cr.n {
			return fmt.Errorf("entry %q: the image's layers are larger than %d bytes uncompressed (raise maxUnpackBytes if it is meant to be): %w", h.Name, lim.bytes, adapters.ErrInvalid)
		}
		link, err := unpackEntry(tr, h, root)
		if err != nil {
			return err
		}
		if link != "" {
			links = append(links, link)
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// unpackEntry writes one entry under root. It returns the entry's name
// under root when it placed a symlink, so that untar checks it again at the
// end.
func unpackEntry(tr *tar.Reader, h *tar.Header, root *os.Root) (symlink string, err error) {
	name, err := inside(h.Name)
	if err != nil {
		return "", err
	}
	if err := noSymlinkOnPath(root, name); err != nil {
		return "", fmt.Errorf("entry %q: %w", h.Name, err)
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if err := root.MkdirAll(name, 0o755); err != nil {
			return "", fmt.Errorf("entry %q: %w", h.Name, err)
		}
	case tar.TypeReg:
		return "", writeFile(tr, root, name, h)
	case tar.TypeSymlink:
		if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
			return "", fmt.Errorf("entry %q: %w", h.Name, err)
		}
		if err := root.Symlink(h.Linkname, name); err != nil {
			return "", fmt.Errorf("entry %q: %w", h.Name, err)
		}
		if err := checkLink(root, name); err != nil {
			return "", fmt.Errorf("entry %q: %w", h.Name, err)
		}
		return name, nil
	case tar.TypeLink:
		src, err := inside(h.Linkname)
		if err == nil {
			err = noSymlinkOnPath(root, src)
		}
		if err != nil {
			return "", fmt.Errorf("entry %q: hard link to %q leaves the image: %w", h.Name, h.Linkname, adapters.ErrInvalid)
		}
		if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
			return "", fmt.Errorf("entry %q: %w", h.Name, err)
		}
		if err := root.Link(src, name); err != nil {
			return "", fmt.Errorf("entry %q: hard link to %q: %w", h.Name, h.Linkname, err)
		}
	}
	return "", nil
}

// inside returns an entry's name relative to the image root ("." for the
// root itself), refusing absolute names and names with a ".." element.
func inside(entry string) (string, error) {
	if strings.HasPrefix(entry, "/") {
		return "", fmt.Errorf("entry %q: an absolute name leaves the image: %w", entry, adapters.ErrInvalid)
	}
	if strings.Contains("/"+entry+"/", "/../") {
		return "", fmt.Errorf("entry %q: a name with \"..\" may leave the image: %w", entry, adapters.ErrInvalid)
	}
	if strings.ContainsRune(entry, 0) {
		return "", fmt.Errorf("entry %q: a name with a NUL byte: %w", entry, adapters.ErrInvalid)
	}
	if name := strings.TrimPrefix(path.Clean("/"+entry), "/"); name != "" {
		return name, nil
	}
	return ".", nil
}

// noSymlinkOnPath refuses a name under root that goes through a symlink an
// earlier entry placed, at any depth, itself included.
func noSymlinkOnPath(root *os.Root, name string) error {
	if name == "." {
		return nil
	}
	parts := strings.Split(name, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		fi, err := root.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // nothing below a missing path exists yet
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symlink placed by an earlier entry: %w", p, adapters.ErrInvalid)
		}
	}
	return nil
}

// checkLink resolves the symlink name under root as the kernel would for an
// instance whose files are root: each component in turn, every symlink met
// followed (its target read relative to its own directory), ".." applied
// to what is resolved so far. It refuses an absolute target anywhere on the
// chain, a ".." above root, and a chain of more than maxLinkHops links.
// A component that does not exist is taken as a plain directory: nothing
// the image holds can make it lead elsewhere.
func checkLink(root *os.Root, name string) error {
	own, err := root.Readlink(name)
	if err != nil {
		return err
	}
	if path.IsAbs(own) {
		return fmt.Errorf("symlink to %q: an absolute target leaves the image; make it relative: %w", own, adapters.ErrInvalid)
	}
	resolved := strings.Split(path.Dir(name), "/") // real directories: no symlink is on an entry's path
	if resolved[0] == "." {
		resolved = nil
	}
	pending := []string{path.Base(name)}
	for hops := 0; len(pending) > 0; {
		part := pending[0]
		pending = pending[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(resolved) == 0 {
				return fmt.Errorf("symlink to %q resolves outside the image, through the image's links; point it inside the image: %w", own, adapters.ErrInvalid)
			}
			resolved = resolved[:len(resolved)-1]
			continue
		}
		p := strings.Join(append(resolved, part), "/")
		fi, err := root.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			resolved = append(resolved, part) // a file, a directory or nothing yet
			continue
		}
		if hops++; hops > maxLinkHops {
			return fmt.Errorf("symlink to %q goes through more than %d links (a loop?); point it at a file or directory: %w", own, maxLinkHops, adapters.ErrInvalid)
		}
		target, err := root.Readlink(p)
		if err != nil {
			return err
		}
		if path.IsAbs(target) {
			return fmt.Errorf("symlink to %q leads to %q, an absolute target that leaves the image; make it relative: %w", own, target, adapters.ErrInvalid)
		}
		pending = append(strings.Split(target, "/"), pending...)
	}
	return nil
}

// writeFile writes a regular file, never through a symlink, without the
// setuid, setgid or sticky bits, never writable but by the runtime's user,
// and readable, and executable if it is for anyone, by every user: the user
// instances run as (--run-as) is not the file's owner.
func writeFile(r io.Reader, root *os.Root, name string, h *tar.Header) error {
	if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
		return fmt.Errorf("entry %q: %w", h.Name, err)
	}
	perm := os.FileMode(h.Mode)&0o755 | 0o444
	if perm&0o111 != 0 {
		perm |= 0o111
	}
	f, err := root.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|syscall.O_NOFOLLOW, perm)
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
