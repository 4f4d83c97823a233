package tarfiles

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sparseStream is a tar stream of one GNU sparse file (PAX format 0.1) of
// size bytes, all a hole: a few kilobytes that a tar reader expands to
// size bytes of zeros. tar.Writer writes no sparse records, so the stream
// is written with stand-in keys that are then renamed.
func sparseStream(tb testing.TB, name string, size int64) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	h := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, PAXRecords: map[string]string{
		"XYZ.sparse.size": fmt.Sprint(size), "XYZ.sparse.numblocks": "1", "XYZ.sparse.map": "0,0"}}
	if err := tw.WriteHeader(h); err != nil {
		tb.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return bytes.ReplaceAll(buf.Bytes(), []byte("XYZ.sparse."), []byte("GNU.sparse."))
}

func TestExtractRefusesAStreamOverItsLimits(t *testing.T) {
	lim := Limits{Bytes: 100, File: 60, Entries: 3}
	reg := func(name string, size int) tarMember {
		return tarMember{tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(size)}, strings.Repeat("x", size)}
	}
	dir := tarMember{tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755}, ""}
	for _, tc := range []struct {
		name    string
		stream  []byte
		want    string // in the error
		written []string
	}{
		{"a file over its limit", tarStream(t, []tarMember{reg("a", 10), reg("big", 61)}), "big: 61 bytes, more than the 60 of one file", []string{"a"}},
		{"files over the total", tarStream(t, []tarMember{reg("a", 60), reg("b", 40), reg("c", 1)}), "c: the files are larger than 100 bytes together", []string{"a", "b"}},
		{"entries over the count, directories too", tarStream(t, []tarMember{reg("a", 1), dir, reg("d/b", 1), reg("c", 1)}), "more than 3 entries", []string{"a", "d/b"}},
		{"a sparse file of a terabyte", sparseStream(t, "sparse", 1<<40), "sparse: 1099511627776 bytes, more than the 60 of one file", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := t.TempDir()
			err := Extract(bytes.NewReader(tc.stream), dst, lim)
			if !errors.Is(err, ErrOverLimit) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Extract: %v, want ErrOverLimit with %q", err, tc.want)
			}
			written := slices.Sorted(maps.Keys(extracted(t, dst)))
			if strings.Join(written, " ") != strings.Join(tc.written, " ") {
				t.Fatalf("extract wrote %v before refusing, want %v", written, tc.written)
			}
		})
	}
}

func TestExtractTakesAStreamAtItsLimits(t *testing.T) {
	lim := Limits{Bytes: 100, File: 60, Entries: 3}
	stream := tarStream(t, []tarMember{
		{tar.Header{Name: "a", Typeflag: tar.TypeReg, Mode: 0o644, Size: 60}, strings.Repeat("a", 60)},
		{tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
		{tar.Header{Name: "d/b", Typeflag: tar.TypeReg, Mode: 0o644, Size: 40}, strings.Repeat("b", 40)},
	})
	dst := t.TempDir()
	if err := Extract(bytes.NewReader(stream), dst, lim); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "d", "b")); err != nil || len(b) != 40 {
		t.Fatalf("d/b: %d bytes, %v", len(b), err)
	}
}
