package tarfiles

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fuzzVictim is the content of the file beside the folder FuzzExtract
// extracts into, which must stay as it is.
const fuzzVictim = "untouched\n"

// fuzzExtractLimits are small, so that the fuzzer reaches them with small
// inputs.
var fuzzExtractLimits = Limits{Bytes: 16 << 10, File: 4 << 10, Entries: 8}

// FuzzExtract extracts fuzzed tar streams (as git archive gives durable
// approve for a commit of the clone) into a folder beside a victim file. Extract
// must not panic; nothing may be written outside the folder, nor the
// victim changed or linked to; the folder holds only directories and
// regular files, none executable or writable by others, within
// fuzzExtractLimits; and after an extraction that succeeds, it holds
// exactly the stream's regular files with local names, each with its
// content.
func FuzzExtract(f *testing.F) {
	reg := func(name, body string) tarMember {
		return tarMember{tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, body}
	}
	link := func(name, target string, kind byte) tarMember {
		return tarMember{tar.Header{Name: name, Typeflag: kind, Linkname: target, Mode: 0o777}, ""}
	}
	for _, seed := range [][]tarMember{
		{{tar.Header{Name: "services/", Typeflag: tar.TypeDir, Mode: 0o755}, ""}, reg("services/web.cue", "package durable\n"), reg("pipeline.cue", "package durable\n")},
		{reg("../x", "pwned"), reg("/tmp/durable-extract-fuzz", "pwned"), reg("a/../../x", "pwned")},
		{link("l", "/", tar.TypeSymlink), reg("l/x", "pwned")},
		{link("up", "..", tar.TypeSymlink), reg("up/victim", "pwned")},
		{link("h", "../victim", tar.TypeLink), reg("h", "pwned")},
		{reg("a", "1"), reg("a", "2")},
		{reg("a", "1"), reg("a/b", "2")},
		{{tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3}, ""}, {tar.Header{Name: "fifo", Typeflag: tar.TypeFifo}, ""}},
		{{tar.Header{Name: "bin/su", Typeflag: tar.TypeReg, Mode: 0o7777, Size: 3}, "#!\n"}},
		{reg("big", strings.Repeat("x", int(fuzzExtractLimits.File)+1))},
		{reg("1", ""), reg("2", ""), reg("3", ""), reg("4", ""), reg("5", ""), reg("6", ""), reg("7", ""), reg("8", ""), reg("9", "")},
	} {
		f.Add(tarStream(f, seed))
	}
	f.Add(sparseStream(f, "sparse", 1<<40))
	f.Add([]byte("not a tar stream"))
	// One folder and victim for every input of this worker, not a fresh
	// temporary folder per input, which was most of an input's time. Each
	// input's tree is removed after it.
	base := f.TempDir()
	victim := filepath.Join(base, "victim")
	if err := os.WriteFile(victim, []byte(fuzzVictim), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		dst := filepath.Join(base, "tree")
		t.Cleanup(func() {
			if err := os.RemoveAll(dst); err != nil {
				t.Fatal(err)
			}
		})
		err := Extract(bytes.NewReader(stream), dst, fuzzExtractLimits)
		entries, werr := os.ReadDir(base)
		if werr != nil {
			t.Fatal(werr)
		}
		for _, e := range entries {
			if e.Name() != "tree" && e.Name() != "victim" {
				t.Fatalf("extract wrote %s outside its directory", e.Name())
			}
		}
		checkFuzzVictim(t, victim)
		got := extracted(t, dst)
		checkExtractLimits(t, got)
		if err == nil {
			if want := localFiles(t, stream); !maps.Equal(got, want) {
				t.Fatalf("extract wrote %v, the stream holds %v", got, want)
			}
		}
	})
}

// tarMember is one member of a tar stream a seed is built of.
type tarMember struct {
	tar.Header
	body string
}

// tarStream writes members as a tar stream, names as given.
func tarStream(tb testing.TB, members []tarMember) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := m.Header
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			tb.Fatalf("tar header %q: %v", h.Name, err)
		}
		if _, err := io.WriteString(tw, m.body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// checkFuzzVictim fails t if the victim changed or gained a hard link.
func checkFuzzVictim(t *testing.T, victim string) {
	t.Helper()
	if b, err := os.ReadFile(victim); err != nil || string(b) != fuzzVictim {
		t.Fatalf("a file outside the directory changed: %q, %v", b, err)
	}
	fi, err := os.Lstat(victim)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink != 1 {
		t.Fatalf("the file outside the directory has %d links", st.Nlink)
	}
}

// checkExtractLimits fails t if the files extract wrote are over
// fuzzExtractLimits.
func checkExtractLimits(t *testing.T, files map[string]string) {
	t.Helper()
	var total int64
	for name, body := range files {
		if int64(len(body)) > fuzzExtractLimits.File {
			t.Fatalf("extract wrote %s, %d bytes: over the limits %+v", name, len(body), fuzzExtractLimits)
		}
		total += int64(len(body))
	}
	if len(files) > fuzzExtractLimits.Entries || total > fuzzExtractLimits.Bytes {
		t.Fatalf("extract wrote %d files, %d bytes: over the limits %+v", len(files), total, fuzzExtractLimits)
	}
}

// extracted reads every regular file under dst by its slash-separated
// name, failing t on anything but directories and plain regular files.
func extracted(t *testing.T, dst string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dst {
			return nil // nothing extracted
		}
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o133 != 0 {
			t.Fatalf("extract made %s with mode %s", p, fi.Mode())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dst, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// localFiles reads the regular files with local names of a stream that
// Extract accepted, by their cleaned names.
func localFiles(t *testing.T, stream []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(stream))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Extract accepted a stream that does not read: %v", err)
		}
		if h.Typeflag != tar.TypeReg || !filepath.IsLocal(h.Name) {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.ToSlash(filepath.Clean(h.Name))] = string(b)
	}
}
