package signing

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Resolve turns a tagged reference into REPOSITORY@sha256:<hex>, the digest
// the registry serves for the tag now (the index digest for a multi-platform
// image). The repository is kept as written, the tag dropped. A reference
// that already has a digest is returned unchanged, without asking the
// registry. Errors wrap ErrUnreachable when the registry cannot answer.
func Resolve(ctx context.Context, ref string, opts ...Option) (string, error) {
	if strings.Contains(ref, "@") {
		if _, err := parsePinned(ref); err != nil {
			return "", err
		}
		return ref, nil
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", fmt.Errorf("%s: not an OCI reference REPOSITORY[:TAG]: %w", ref, err)
	}
	o := makeOptions(opts)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	desc, err := remote.Head(tag, o.remote(ctx)...)
	if isNotFound(err) {
		return "", fmt.Errorf("%s: the registry has no such tag; push the image first, or correct the tag", ref)
	}
	if err != nil {
		return "", refusal(ref, ErrUnreachable, "resolve the tag: %v; retry later", err)
	}
	repo := ref
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo = ref[:i]
	}
	return repo + "@" + desc.Digest.String(), nil
}

// Change is one reference PinFile replaced. Line and Col (1-based) are
// those of the value's opening quote.
type Change struct {
	File string
	Line int
	Col  int
	From string
	To   string
}

// String renders the change as file:line:col: from -> to.
func (c Change) String() string {
	return fmt.Sprintf("%s:%d:%d: %s -> %s", c.File, c.Line, c.Col, c.From, c.To)
}

// artifactField finds the double-quoted value of an artifact field, in CUE
// (artifact: "..."), YAML (artifact: "...") or JSON ("artifact": "...").
// Values with escapes or interpolations are left alone.
var artifactField = regexp.MustCompile(`(?:^|[^\w#.])"?artifact"?[ \t]*:[ \t]*"([^"\\\n]*)"`)

// maxPinFile bounds the size of a file PinFile rewrites.
const maxPinFile = 8 << 20

// PinFile replaces, in one desired-state file, every OCI reference given as
// a double-quoted artifact field value with a tag and no digest by its
// digest form from resolve (Resolve, bound to options), and returns what it
// changed. Fields in line comments (// or #) are left alone. It rewrites the
// file atomically and only when every reference resolved: a failure leaves
// the file untouched and names the position of the reference.
func PinFile(ctx context.Context, file string, resolve func(ctx context.Context, ref string) (string, error)) ([]Change, error) {
	info, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if info.Size() > maxPinFile {
		return nil, fmt.Errorf("%s: larger than %d bytes; is it a desired-state file?", file, maxPinFile)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var changes []Change
	var out bytes.Buffer
	last := 0
	resolved := map[string]string{}
	for _, m := range artifactField.FindAllSubmatchIndex(data, -1) {
		start, end := m[2], m[3]
		value := string(data[start:end])
		if strings.Contains(value, "@") || inLineComment(data, start) {
			continue
		}
		line := bytes.Count(data[:start], []byte("\n")) + 1
		col := start - bytes.LastIndexByte(data[:start], '\n') - 1 // of the opening quote
		pinned, ok := resolved[value]
		if !ok {
			if pinned, err = resolve(ctx, value); err != nil {
				return nil, fmt.Errorf("%s:%d:%d: %w", file, line, col, err)
			}
			if _, err := parsePinned(pinned); err != nil {
				return nil, fmt.Errorf("%s:%d:%d: %s resolved to %w", file, line, col, value, err)
			}
			resolved[value] = pinned
		}
		out.Write(data[last:start])
		out.WriteString(pinned)
		last = end
		changes = append(changes, Change{File: file, Line: line, Col: col, From: value, To: pinned})
	}
	if len(changes) == 0 {
		return nil, nil
	}
	out.Write(data[last:])
	return changes, writeAtomic(file, out.Bytes(), info.Mode().Perm())
}

// inLineComment reports whether offset follows // or # on its line.
func inLineComment(data []byte, offset int) bool {
	lineStart := bytes.LastIndexByte(data[:offset], '\n') + 1
	prefix := string(data[lineStart:offset])
	if strings.Contains(prefix, "//") {
		return true
	}
	trimmed := strings.TrimSpace(prefix)
	return trimmed == "#" || strings.HasPrefix(trimmed, "# ") || strings.Contains(prefix, " # ")
}

// writeAtomic replaces file with data, so that a crash leaves either the old
// or the new content.
func writeAtomic(file string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".pin-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}
