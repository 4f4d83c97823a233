package pack

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What one layer may hold: the process runtime's own limits on unpacking.
const (
	MaxEntries    = 100_000
	MaxLayerBytes = 1 << 30
)

// epoch is every entry's time.
var epoch = time.Unix(0, 0).UTC()

// entry is one file of the layer, by its name in the image (no leading /).
type entry struct {
	typ  byte
	mode int64
	link string // a symbolic link's target
	// open reads a regular file's content; size is its length.
	open func() (io.ReadCloser, error)
	size int64
}

// tree is a layer's entries by name.
type tree map[string]entry

// addParents makes the folders above name, as root's 0755 folders.
func (t tree) addParents(name string) {
	for dir := path.Dir(name); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if _, ok := t[dir]; !ok {
			t[dir] = entry{typ: tar.TypeDir, mode: 0o755}
		}
	}
}

// addFile adds the host file src as name, executable when exec or when any
// of its execute bits is set.
func (t tree) addFile(name, src string, exec bool) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file (%s): %w", src, fi.Mode().Type(), ErrInvalid)
	}
	t.addParents(name)
	t[name] = entry{typ: tar.TypeReg, mode: fileMode(fi.Mode(), exec), size: fi.Size(),
		open: func() (io.ReadCloser, error) { return os.Open(src) }}
	return nil
}

func fileMode(m fs.FileMode, exec bool) int64 {
	if exec || m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// addFolder adds the content of folder dir under prefix. Files are read
// through an os.Root of dir, so nothing outside it is read even if the
// folder changes while it is packed; a link pointing out of it is refused.
func (t tree) addFolder(prefix, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	defer root.Close()
	fsys := root.FS()
	return fs.WalkDir(fsys, ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(dir, rel), err)
		}
		if rel == "." {
			return nil
		}
		name := path.Join(prefix, rel)
		where := filepath.Join(dir, rel)
		switch typ := d.Type(); {
		case typ.IsDir():
			t[name] = entry{typ: tar.TypeDir, mode: 0o755}
		case typ.IsRegular():
			fi, err := d.Info()
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			t[name] = entry{typ: tar.TypeReg, mode: fileMode(fi.Mode(), false), size: fi.Size(),
				open: func() (io.ReadCloser, error) { return openIn(dir, rel) }}
		case typ&fs.ModeSymlink != 0:
			target, err := root.Readlink(rel)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if err := checkLink(rel, target); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			t[name] = entry{typ: tar.TypeSymlink, mode: 0o777, link: target}
		default:
			return fmt.Errorf("%s: a %s cannot be packed; leave it out of the folder: %w", where, typ, ErrInvalid)
		}
		return nil
	})
}

// openIn opens rel beneath dir, never following a link out of it.
func openIn(dir, rel string) (*os.File, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close() // the file stays open
	return root.Open(rel)
}

// checkLink refuses a link at rel (in the folder) whose target leaves the
// folder: it would name a file of whatever host or image unpacks it.
func checkLink(rel, target string) error {
	if path.IsAbs(target) || filepath.IsAbs(target) {
		return fmt.Errorf("symbolic link to %s: an absolute target points out of the packed folder; make it relative to a file inside, or copy the file in: %w", target, ErrInvalid)
	}
	resolved := path.Join(path.Dir(rel), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("symbolic link to %s points out of the packed folder; copy the file in instead: %w", target, ErrInvalid)
	}
	return nil
}

// layer writes the tree as one gzip-compressed OCI layer, its entries in
// name order, every time the epoch and every owner root.
func (t tree) layer(mt types.MediaType) (v1.Layer, error) {
	if len(t) > MaxEntries {
		return nil, fmt.Errorf("%d files and folders: at most %d in an image: %w", len(t), MaxEntries, ErrInvalid)
	}
	var total int64
	for _, e := range t {
		total += e.size
	}
	if total > MaxLayerBytes {
		return nil, fmt.Errorf("%d bytes of files: at most %d in an image: %w", total, MaxLayerBytes, ErrInvalid)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(t)) {
		if err := t.write(tw, name); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(mt))
}

func (t tree) write(tw *tar.Writer, name string) error {
	e := t[name]
	h := &tar.Header{Typeflag: e.typ, Name: name, Linkname: e.link, Mode: e.mode, Size: e.size,
		ModTime: epoch, Format: tar.FormatPAX}
	if e.typ == tar.TypeDir {
		h.Name += "/"
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("/%s: %w", name, err)
	}
	if e.open == nil {
		return nil
	}
	f, err := e.open()
	if err != nil {
		return fmt.Errorf("/%s: %w", name, err)
	}
	defer f.Close()
	n, err := io.Copy(tw, io.LimitReader(f, e.size+1))
	if err == nil && n != e.size {
		err = errors.New("the file changed while it was packed; pack again")
	}
	if err != nil {
		return fmt.Errorf("/%s: %w", name, err)
	}
	return nil
}
