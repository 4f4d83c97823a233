package source

import (
	"bytes"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// treeFile is one file of a snapshot's tree.
type treeFile struct {
	data []byte
	exec bool
}

// treeFS is a read-only, in-memory fs.FS of one commit's tree. It is never
// modified after newTreeFS returns, so it is safe for concurrent use.
type treeFS struct {
	files   map[string]treeFile
	dirs    map[string][]fs.DirEntry // directory path ("." for the root) → sorted entries
	modTime time.Time
}

var (
	_ fs.ReadFileFS = (*treeFS)(nil)
	_ fs.ReadDirFS  = (*treeFS)(nil)
	_ fs.StatFS     = (*treeFS)(nil)
)

// newTreeFS builds the FS from file paths (valid fs paths) to contents; the
// directories are those the paths imply. Every entry carries modTime.
func newTreeFS(files map[string]treeFile, modTime time.Time) *treeFS {
	t := &treeFS{files: files, dirs: map[string][]fs.DirEntry{".": nil}, modTime: modTime}
	for name := range files {
		t.addEntry(name)
	}
	for _, entries := range t.dirs {
		slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	}
	return t
}

// addEntry lists name in its directory, and a new directory in its parent
// in turn, up to the root, which always exists.
func (t *treeFS) addEntry(name string) {
	dir := path.Dir(name)
	_, known := t.dirs[dir]
	t.dirs[dir] = append(t.dirs[dir], t.info(name))
	if !known {
		t.addEntry(dir)
	}
}

// info describes name, which must be a file or directory of t.
func (t *treeFS) info(name string) fileInfo {
	if f, ok := t.files[name]; ok {
		mode := fs.FileMode(0o444)
		if f.exec {
			mode = 0o555
		}
		return fileInfo{name: path.Base(name), size: int64(len(f.data)), mode: mode, modTime: t.modTime}
	}
	return fileInfo{name: path.Base(name), mode: fs.ModeDir | 0o555, modTime: t.modTime}
}

func (t *treeFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if f, ok := t.files[name]; ok {
		return &openFile{info: t.info(name), Reader: bytes.NewReader(f.data)}, nil
	}
	if entries, ok := t.dirs[name]; ok {
		return &openDir{info: t.info(name), entries: entries}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func (t *treeFS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	if f, ok := t.files[name]; ok {
		return bytes.Clone(f.data), nil
	}
	if _, ok := t.dirs[name]; ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errIsDir}
	}
	return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
}

func (t *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	if entries, ok := t.dirs[name]; ok {
		return slices.Clone(entries), nil
	}
	if _, ok := t.files[name]; ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
}

func (t *treeFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	_, isFile := t.files[name]
	_, isDir := t.dirs[name]
	if !isFile && !isDir {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return t.info(name), nil
}

type fsError string

func (e fsError) Error() string { return string(e) }

const (
	errIsDir  = fsError("is a directory")
	errNotDir = fsError("not a directory")
)

// fileInfo is both the fs.FileInfo and the fs.DirEntry of a tree entry.
type fileInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

func (i fileInfo) Name() string               { return i.name }
func (i fileInfo) Size() int64                { return i.size }
func (i fileInfo) Mode() fs.FileMode          { return i.mode }
func (i fileInfo) ModTime() time.Time         { return i.modTime }
func (i fileInfo) IsDir() bool                { return i.mode.IsDir() }
func (i fileInfo) Sys() any                   { return nil }
func (i fileInfo) Type() fs.FileMode          { return i.mode.Type() }
func (i fileInfo) Info() (fs.FileInfo, error) { return i, nil }

// openFile is an open regular file; the embedded Reader gives Read, ReadAt
// and Seek over its contents.
type openFile struct {
	info fileInfo
	*bytes.Reader
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *openFile) Close() error               { return nil }

// openDir is an open directory, read with ReadDir.
type openDir struct {
	info    fileInfo
	entries []fs.DirEntry
	next    int
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *openDir) Close() error               { return nil }

func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errIsDir}
}

// ReadDir follows fs.ReadDirFile: n <= 0 returns all remaining entries and
// a nil error; n > 0 returns at most n, and io.EOF once none remain.
func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.next:]
	if n <= 0 {
		d.next = len(d.entries)
		return slices.Clone(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	rest = rest[:min(n, len(rest))]
	d.next += len(rest)
	return slices.Clone(rest), nil
}
