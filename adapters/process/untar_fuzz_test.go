package process

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// fuzzLimits are small, so that the fuzzer reaches them with small inputs.
var fuzzLimits = limits{bytes: 16 << 10, entries: 8}

// FuzzUntar unpacks fuzzed tar streams into a folder beside a victim file.
// Whatever the stream, untar must not panic; nothing may be written outside
// its folder, and the victim neither changed nor linked to; within it, no
// more than fuzzLimits.entries files or links, no more than
// fuzzLimits.bytes of content, no special file, no file with the setuid,
// setgid or sticky bit or writable by others. An unpack that succeeds
// leaves no symlink with an absolute target or one that resolves outside.
func FuzzUntar(f *testing.F) {
	for _, seed := range untarSeeds(f) {
		f.Add(seed)
	}
	// One folder and victim for every input of this worker, not one each:
	// a fresh temporary folder per input was most of an input's time. Each
	// input's rootfs is removed after it, and the checks below find
	// whatever it left.
	base := f.TempDir()
	victim := filepath.Join(base, "victim")
	if err := os.WriteFile(victim, []byte(victimContent), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, layer []byte) {
		dst := filepath.Join(base, "rootfs")
		if err := os.Mkdir(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := os.RemoveAll(dst); err != nil {
				t.Fatal(err)
			}
		})
		err := untar(context.Background(), bytes.NewReader(layer), dst, fuzzLimits)
		if got := outside(t, base, dst); !slices.Equal(got, []string{".", "victim"}) {
			t.Fatalf("untar wrote outside its directory: %v", got)
		}
		checkVictim(t, victim)
		checkUnpacked(t, dst, err == nil)
	})
}

// untarSeeds are small tar streams of the real format, benign and hostile.
func untarSeeds(tb testing.TB) [][]byte {
	device := entry{Header: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3}}
	fifo := entry{Header: tar.Header{Name: "fifo", Typeflag: tar.TypeFifo, Mode: 0o644}}
	setuid := file("bin/su", "#!/bin/sh\n")
	setuid.Mode = 0o7777
	seeds := [][]byte{
		tarOf(tb, dir("app/"), file("app/run", "#!/bin/sh\necho hi\n"), symlink("app/current", "run"), hardlink("app/again", "app/run")),
		tarOf(tb, file("../x", "pwned")),
		tarOf(tb, file("/etc/durable-untar-fuzz", "pwned")),
		tarOf(tb, dir("a/"), file("a/../../x", "pwned")),
		tarOf(tb, symlink("l", "/"), file("l/x", "pwned")),
		tarOf(tb, dir("a/"), symlink("a/up", ".."), symlink("out", "a/up/.."), file("out/victim", "pwned")),
		tarOf(tb, symlink("x", "c/.."), symlink("c", ".")),
		tarOf(tb, symlink("root", "/")),
		tarOf(tb, dir("a/"), symlink("a/l", "../../victim")),
		tarOf(tb, symlink("p", "q"), symlink("q", "p/x")),
		tarOf(tb, hardlink("h", "../victim"), file("h", "pwned")),
		tarOf(tb, file("a", "1"), file("a", "2"), dir("a/")),
		tarOf(tb, device, fifo, setuid),
		tarOf(tb, file("big", strings.Repeat("x", int(fuzzLimits.bytes)+1))),
		tarOf(tb, file("1", ""), file("2", ""), file("3", ""), file("4", ""), file("5", ""), file("6", ""), file("7", ""), file("8", ""), file("9", "")),
		hugeEntryHeader(tb),
		[]byte("not a tar stream at all"),
		nil,
	}
	return seeds
}

// hugeEntryHeader is the header of a regular file that claims a terabyte,
// with no body: a stream that lies about its sizes.
func hugeEntryHeader(tb testing.TB) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "huge", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1 << 40}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// checkVictim fails t if the file outside the folder changed or gained a
// hard link.
func checkVictim(t *testing.T, victim string) {
	t.Helper()
	if b, err := os.ReadFile(victim); err != nil || string(b) != victimContent {
		t.Fatalf("a file outside the directory changed: %q, %v", b, err)
	}
	fi, err := os.Lstat(victim)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink != 1 {
		t.Fatalf("the file outside the directory has %d links: untar linked to it", st.Nlink)
	}
}

// checkUnpacked checks what untar left in dst against fuzzLimits and the
// modes it promises; after a successful unpack, its symlinks too.
func checkUnpacked(t *testing.T, dst string, succeeded bool) {
	t.Helper()
	var entries int
	var size int64
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		entries++
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if succeeded {
				checkSymlink(t, dst, p)
			}
		case !fi.Mode().IsRegular():
			t.Fatalf("untar made the special file %s (%s)", p, fi.Mode())
		case fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 || fi.Mode().Perm()&0o022 != 0:
			t.Fatalf("untar made %s with mode %s", p, fi.Mode())
		default:
			size += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if entries > fuzzLimits.entries || size > fuzzLimits.bytes {
		t.Fatalf("untar wrote %d files and links, %d bytes: over the limits %+v", entries, size, fuzzLimits)
	}
}

// checkSymlink fails t if the symlink p has an absolute target or, when it
// resolves, resolves outside dst.
func checkSymlink(t *testing.T, dst, p string) {
	t.Helper()
	target, err := os.Readlink(p)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.IsAbs(target) {
		t.Fatalf("untar left %s -> %s, an absolute target", p, target)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return // dangling, or a loop: it leads nowhere
	}
	realDst, err := filepath.EvalSymlinks(dst)
	if err != nil {
		t.Fatal(err)
	}
	if rel, err := filepath.Rel(realDst, real); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		t.Fatalf("untar left %s -> %s, which resolves to %s outside", p, target, real)
	}
}
