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

// readSources reads every .cue and YAML file at the root of fsys, in name
// order, within the caps. Sub-directories, other files and names starting
// with "." or "_" are ignored.
func readSources(fsys fs.FS, checkLink linkCheck) ([]sourceFile, Errors) {
	names, errs := listSources(fsys, checkLink)
	if errs != nil {
		return nil, errs
	}
	files := make([]sourceFile, 0, len(names))
	total := 0
	for _, name := range names {
		data, err := readSource(fsys, name)
		if err != nil {
			errs = append(errs, Error{File: name, Message: err.Error()})
			continue
		}
		total += len(data)
		if total > MaxTotalBytes {
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

// listSources names the .cue and YAML files at the root of fsys, sorted. It
// reads the directory in batches so that a root with millions of entries is
// refused without holding them all.
func listSources(fsys fs.FS, checkLink linkCheck) ([]string, Errors) {
	root, err := fsys.Open(".")
	if err != nil {
		return nil, Errors{{Message: fmt.Sprintf("cannot open the repository root: %v", err)}}
	}
	defer root.Close()
	dir, ok := root.(fs.ReadDirFile)
	if !ok {
		return nil, Errors{{Message: "the repository root is not a directory"}}
	}
	var names []string
	var errs Errors
	for {
		entries, err := dir.ReadDir(256)
		for _, entry := range entries {
			name := entry.Name()
			// Like the cue tool, skip names starting with "." or "_": editor
			// lock files (.#x.cue) and files set aside on purpose.
			if !isSource(name) || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || entry.IsDir() {
				continue
			}
			if len(names) == MaxFiles {
				return nil, Errors{{File: name, Message: fmt.Sprintf(
					"more than %d %s files at the repository root, the limit; merge small files", MaxFiles, sourceKinds(append(names, name)))}}
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
			return nil, Errors{{Message: fmt.Sprintf("cannot list the repository root: %v", err)}}
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
