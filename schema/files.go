package schema

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Caps on what one load reads. A repository is untrusted input: these bound
// the memory and time a revision can cost before CUE sees a byte of it.
const (
	// MaxFiles is the most .cue and YAML files a repository may hold at
	// its root.
	MaxFiles = 1000
	// MaxFileBytes is the largest one .cue or YAML file may be.
	MaxFileBytes = 1 << 20
	// MaxTotalBytes is the most all .cue and YAML files together may hold.
	MaxTotalBytes = 4 << 20
)

// sourceFile is one .cue or YAML file read from the root of a repository.
type sourceFile struct {
	name string
	data []byte
}

// linkCheck vets a symbolic link at the root before it is followed; nil
// trusts the file system to keep its links inside the tree.
type linkCheck func(name string) error

// budget is what the files read so far in one load hold, against the caps
// that bound a repository as a whole.
type budget struct {
	files, bytes int
}

// read reads the files of the folder dir of fsys whose names keep says to,
// in name order, counting them against the caps. Names come back relative
// to the root of fsys.
func (b *budget) read(fsys fs.FS, dir string, keep func(string) bool, checkLink linkCheck) ([]sourceFile, Errors) {
	names, errs := listSources(fsys, dir, keep, checkLink, MaxFiles-b.files)
	if errs != nil {
		return nil, errs
	}
	b.files += len(names)
	files := make([]sourceFile, 0, len(names))
	for _, name := range names {
		data, err := readSource(fsys, name)
		if err != nil {
			errs = append(errs, Error{File: name, Message: err.Error()})
			continue
		}
		b.bytes += len(data)
		if b.bytes > MaxTotalBytes {
			return nil, append(errs, Error{File: name, Message: fmt.Sprintf(
				"the %s files up to this one hold more than %s in all, the limit for a repository; keep large data out of the desired state",
				sourceKinds(names), mib(MaxTotalBytes))})
		}
		files = append(files, sourceFile{name: name, data: data})
	}
	if errs != nil {
		return nil, errs
	}
	return files, nil
}

// listSources names the files of the folder dir of fsys that keep accepts,
// sorted, at most limit of them. It reads the directory in batches so that a
// folder with millions of entries is refused without holding them all.
func listSources(fsys fs.FS, dir string, keep func(string) bool, checkLink linkCheck, limit int) ([]string, Errors) {
	root, err := fsys.Open(dir)
	if err != nil {
		where := "the repository root"
		if dir != "." {
			where = "folder " + dir
		}
		return nil, Errors{{Message: fmt.Sprintf("cannot open %s: %v", where, unwrapPath(err))}}
	}
	defer root.Close()
	list, ok := root.(fs.ReadDirFile)
	if !ok {
		return nil, Errors{{Message: fmt.Sprintf("%s is not a directory", dir)}}
	}
	var names []string
	var errs Errors
	for {
		entries, err := list.ReadDir(256)
		for _, entry := range entries {
			base := entry.Name()
			// Like the cue tool, skip names starting with "." or "_": editor
			// lock files (.#x.cue) and files set aside on purpose.
			if !keep(base) || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") || entry.IsDir() {
				continue
			}
			name := path.Join(dir, base)
			if len(names) >= limit {
				return nil, Errors{{File: name, Message: fmt.Sprintf(
					"more than %d %s files in the repository's desired state, the limit; merge small files", MaxFiles, sourceKinds(append(names, name)))}}
			}
			if entry.Type()&fs.ModeSymlink != 0 && checkLink != nil {
				if err := checkLink(name); err != nil {
					errs = append(errs, Error{File: name, Message: err.Error()})
					continue
				}
			}
			names = append(names, name)
		}
		if errors.Is(err, io.EOF) || (err == nil && len(entries) == 0) {
			break
		}
		if err != nil {
			return nil, Errors{{Message: fmt.Sprintf("cannot list %s: %v", dir, err)}}
		}
	}
	if errs != nil {
		return nil, errs
	}
	slices.Sort(names)
	return names, nil
}

// readSource reads one .cue or YAML file, refusing anything but a regular
// file and anything over MaxFileBytes. It stats before opening: opening a
// named pipe would block.
func readSource(fsys fs.FS, name string) ([]byte, error) {
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("is %s, not a regular file; a %s file at the root must be a plain file", kindOf(info.Mode()), path.Ext(name))
	}
	tooBig := fmt.Errorf("is larger than %s, the limit for one %s file; split it or keep large data out of the desired state", mib(MaxFileBytes), path.Ext(name))
	if info.Size() > MaxFileBytes {
		return nil, tooBig
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	defer f.Close()
	// The size from Stat may be stale or false; the limited read is the cap.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	if len(data) > MaxFileBytes {
		return nil, tooBig
	}
	return data, nil
}

// isSource reports whether name is a file of desired state: CUE or YAML.
func isSource(name string) bool {
	return strings.HasSuffix(name, ".cue") || isYAML(name)
}

// sourceKinds names the kinds of the files names, for a message: ".cue" in a
// repository of CUE alone, as most are.
func sourceKinds(names []string) string {
	if slices.ContainsFunc(names, isYAML) {
		return ".cue and YAML"
	}
	return ".cue"
}

// unwrapPath drops the *fs.PathError wrapper, whose path the Error already
// carries as its file.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// kindOf names what a non-regular file is.
func kindOf(mode fs.FileMode) string {
	switch {
	case mode.IsDir():
		return "a directory"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeDevice != 0:
		return "a device"
	default:
		return "a special file"
	}
}

// mib writes a byte count that is a whole number of MiB.
func mib(n int) string {
	return fmt.Sprintf("%d MiB", n>>20)
}
