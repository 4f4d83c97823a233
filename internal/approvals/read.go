// Package approvals parses what a revision says of approvals: the approval
// files under approvals/ in its tree, and the trailers of its commit
// message. It takes outside bytes and must never panic on them; an error
// about a file names it, at file:line:col where a position is known. It
// never attributes an approval to a commit nor resolves a release prefix:
// the reconciler does. It is its own package, importing nothing of the
// project, so that its fuzz targets' binary is small: coverage-guided
// fuzzing scans every counter of the binary at each input.
package approvals

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// Dir is the repository folder that holds approval files.
const Dir = "approvals"

const (
	maxFiles = 1000
	maxBytes = 16 << 10
)

// File is what an approval file holds: one release approved for one stage.
// `durable approve` writes it.
type File struct {
	Release string `json:"release"`
	Stage   string `json:"stage"`
	By      string `json:"by"`
	Reason  string `json:"reason,omitempty"`
}

// Approval is one approval file read: its path in the tree and what it
// holds.
type Approval struct {
	Path string // Dir/NAME.json
	File
}

var releasePrefix = regexp.MustCompile(`^[a-f0-9]{12,64}$`)

// Read reads Dir/*.json of files, in the order of their names; other
// entries of Dir are not approvals and are skipped. Each file holds one
// JSON object and nothing after it: a release id or a prefix of one, one of
// stages, and who approves. With no Dir, there are no approvals. An error
// lists every file that is not an approval, one a line, and Read then
// returns no approvals.
func Read(files fs.FS, stages []string) ([]Approval, error) {
	entries, err := fs.ReadDir(files, Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []Approval{}, nil
	}
	if err != nil {
		return nil, err
	}
	if len(entries) > maxFiles {
		return nil, fmt.Errorf("%s: %d files, more than %d; remove approvals of releases long gone", Dir, len(entries), maxFiles)
	}
	known := map[string]bool{}
	for _, s := range stages {
		known[s] = true
	}
	var errs []string
	out := []Approval{}
	for _, e := range entries {
		name := path.Join(Dir, e.Name())
		if e.IsDir() || path.Ext(e.Name()) != ".json" {
			continue
		}
		a, err := readOne(files, name, known)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		out = append(out, a)
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	return out, nil
}

func readOne(files fs.FS, name string, stages map[string]bool) (Approval, error) {
	b, err := fs.ReadFile(files, name)
	if err != nil {
		return Approval{}, fmt.Errorf("%s: %v", name, err)
	}
	if len(b) > maxBytes {
		return Approval{}, fmt.Errorf("%s: %d bytes, more than the %d an approval may hold", name, len(b), maxBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return Approval{}, jsonError(name, b, err)
	}
	if rest := bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return Approval{}, jsonError(name, b, &trailingTextError{Offset: int64(len(b) - len(rest))})
	}
	fix := `; an approval is {"release": "<release id>", "stage": "<stage>", "by": "<who>", "reason": "<why>"}, written by durable approve`
	switch {
	case !releasePrefix.MatchString(f.Release):
		return Approval{}, fmt.Errorf("%s:1:1: release %q is not a release id (12 to 64 lowercase hex digits)%s", name, f.Release, fix)
	case !stages[f.Stage]:
		return Approval{}, fmt.Errorf("%s:1:1: stage %q is not a stage of the pipeline%s", name, f.Stage, fix)
	case strings.TrimSpace(f.By) == "":
		return Approval{}, fmt.Errorf("%s:1:1: by is empty: say who approves%s", name, fix)
	}
	return Approval{Path: name, File: f}, nil
}

// trailingTextError is text after the one JSON value an approval file
// holds: a second value, or what an edit left behind.
type trailingTextError struct {
	Offset int64 // of the text's first byte
}

func (e *trailingTextError) Error() string {
	return fmt.Sprintf("text after the approval, at offset %d: a file holds one JSON object and nothing after it", e.Offset)
}

// jsonError positions a JSON decoding error as file:line:col.
func jsonError(name string, b []byte, err error) error {
	var off int64
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var trailing *trailingTextError
	switch {
	case errors.As(err, &syn):
		off = syn.Offset - 1 // the offset is past the offending byte
	case errors.As(err, &typ):
		off = typ.Offset
	case errors.As(err, &trailing):
		off = trailing.Offset
	}
	line, col := 1, 1
	for _, c := range b[:min(int(off), len(b))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("%s:%d:%d: %s", name, line, col, strings.TrimPrefix(err.Error(), "json: "))
}
