package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Limits on what a policy source may hold, so that a hostile repository
// cannot exhaust the reconciler.
const (
	maxFiles     = 256
	maxFileBytes = 1 << 20
	maxBytes     = 4 << 20
)

// Source is one trusted set of Rego files.
type Source struct {
	// Name says where the policies come from ("repository", "host").
	Name string
	// Revision identifies their content: a commit, or a digest.
	Revision string
	// Modules maps each file path to its Rego text; Tests holds the
	// *_test.rego files, which only the test runner loads.
	Modules map[string]string
	Tests   map[string]string
}

// Empty reports whether the source holds no policy.
func (s Source) Empty() bool { return len(s.Modules) == 0 }

// ReadSource reads every .rego file under dir of fsys (dir may be absent:
// the source is then empty). Revision is left to the caller when given,
// else it is the digest of the content.
func ReadSource(fsys fs.FS, dir, name, revision string) (Source, error) {
	src := Source{Name: name, Revision: revision, Modules: map[string]string{}, Tests: map[string]string{}}
	total := 0
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || path.Ext(p) != ".rego" {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file; a policy must be a plain .rego file", p)
		}
		if len(src.Modules)+len(src.Tests) >= maxFiles {
			return fmt.Errorf("%s: more than %d policy files; split the policies or remove unused ones", dir, maxFiles)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if len(b) > maxFileBytes {
			return fmt.Errorf("%s: %d bytes, more than the %d a policy file may hold", p, len(b), maxFileBytes)
		}
		if total += len(b); total > maxBytes {
			return fmt.Errorf("%s: policies hold more than %d bytes in all", dir, maxBytes)
		}
		if strings.HasSuffix(p, "_test.rego") {
			src.Tests[p] = string(b)
		} else {
			src.Modules[p] = string(b)
		}
		return nil
	})
	if err != nil {
		return Source{}, fmt.Errorf("read %s policies: %w", name, err)
	}
	if src.Revision == "" {
		src.Revision = src.digest()
	}
	return src, nil
}

// digest is a content hash of the source's modules.
func (s Source) digest() string {
	names := make([]string, 0, len(s.Modules))
	for n := range s.Modules {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00%s", n, len(s.Modules[n]), s.Modules[n])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

// label names the source and its revision in decisions.
func (s Source) label() string {
	rev := s.Revision
	if len(rev) == 40 { // a commit id
		rev = rev[:12]
	}
	return s.Name + "@" + rev
}

// ReadDir reads the .rego files under a directory of this host; their paths
// start with dir, so that errors point at the files as the user names them.
func ReadDir(dir, name string) (Source, error) {
	src, err := ReadSource(os.DirFS(dir), ".", name, "")
	if err != nil {
		return Source{}, err
	}
	under := func(m map[string]string) map[string]string {
		out := make(map[string]string, len(m))
		for p, text := range m {
			out[filepath.Join(dir, p)] = text
		}
		return out
	}
	src.Modules, src.Tests = under(src.Modules), under(src.Tests)
	return src, nil
}
