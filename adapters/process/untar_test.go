package process

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/process/settings"
)

// entry is one member of a tar stream built by a test.
type entry struct {
	tar.Header
	body string
}

func file(name, body string) entry {
	return entry{Header: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, body: body}
}

func dir(name string) entry {
	return entry{Header: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
}

func symlink(name, target string) entry {
	return entry{Header: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}}
}

func hardlink(name, target string) entry {
	return entry{Header: tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target, Mode: 0o644}}
}

// tarOf writes entries as a tar stream, exactly as given: no cleaning of
// names, so that hostile names reach the code under test.
func tarOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.Header
		h.ModTime = time.Unix(0, 0)
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("tar header %q: %v", h.Name, err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tree lists every path under base (relative, slash-separated), not
// following symlinks.
func tree(t testing.TB, base string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(base, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// outside lists what lies under base but not under dir.
func outside(t testing.TB, base, dir string) []string {
	t.Helper()
	rel, err := filepath.Rel(base, dir)
	if err != nil {
		t.Fatal(err)
	}
	rel = filepath.ToSlash(rel)
	var out []string
	for _, p := range tree(t, base) {
		if p != rel && !strings.HasPrefix(p, rel+"/") {
			out = append(out, p)
		}
	}
	return out
}

const victimContent = "untouched\n"

func TestUntarRefusesEntriesThatLeaveTheImage(t *testing.T) {
	tests := []struct {
		name       string
		entries    func(base string) []entry
		maxBytes   int64
		maxEntries int
	}{
		{name: "parent name", entries: func(string) []entry { return []entry{file("../x", "pwned")} }},
		{name: "parent name behind a directory", entries: func(string) []entry { return []entry{dir("a/"), file("a/../../x", "pwned")} }},
		{name: "absolute name", entries: func(base string) []entry { return []entry{file(filepath.Join(base, "x"), "pwned")} }},
		{name: "absolute name in etc", entries: func(string) []entry { return []entry{file("/etc/durable-untar-test", "pwned")} }},
		{name: "symlink to the root", entries: func(string) []entry { return []entry{symlink("root", "/")} }},
		{name: "absolute symlink then a write through it", entries: func(base string) []entry {
			return []entry{symlink("l", base), file("l/x", "pwned")}
		}},
		{name: "relative symlink out", entries: func(string) []entry {
			return []entry{dir("a/"), symlink("a/l", "../../outside")}
		}},
		{name: "hard link to a parent", entries: func(string) []entry {
			return []entry{hardlink("h", "../victim"), file("h", "pwned")}
		}},
		{name: "directory through a chain of in-tree symlinks", entries: func(string) []entry {
			// a/up points at the image root and out at a/up/..: each looks
			// in-tree by its own name, together they reach the parent.
			return []entry{dir("a/"), symlink("a/up", ".."), symlink("out", "a/up/.."), dir("out/x/"), file("out/x/y", "pwned")}
		}},
		{name: "hard link through a chain of in-tree symlinks", entries: func(string) []entry {
			return []entry{dir("a/"), symlink("a/up", ".."), symlink("out", "a/up/.."), hardlink("h", "out/victim"), file("h", "pwned")}
		}},
		{name: "symlink through a link to its own directory", entries: func(string) []entry {
			// b/.. reads as the image root, but b is the root itself: the
			// link resolves to the root's parent.
			return []entry{symlink("b", "."), symlink("x", "b/..")}
		}},
		{name: "symlink a later link makes leave the image", entries: func(string) []entry {
			// c is missing when x is placed, so x resolves inside; c -> .
			// then makes x resolve to the root's parent.
			return []entry{symlink("x", "c/.."), symlink("c", ".")}
		}},
		{name: "symlink through a link deeper down", entries: func(string) []entry {
			return []entry{dir("a/"), symlink("a/b", "."), symlink("a/x", "b/../..")}
		}},
		{name: "symlink loop", entries: func(string) []entry {
			return []entry{symlink("p", "q"), symlink("q", "p/x")}
		}},
		{name: "skipped entry with a body larger than the limit", maxBytes: 4096, entries: func(string) []entry {
			// An entry type untar skips: its body is still decompressed.
			return []entry{{Header: tar.Header{Name: "vendor", Typeflag: 'Z', Mode: 0o644, Size: 1 << 20}, body: strings.Repeat("x", 1<<20)}}
		}},
		{name: "larger than the limit", maxBytes: 10, entries: func(string) []entry {
			return []entry{file("small", "12345"), file("big", strings.Repeat("x", 100))}
		}},
		{name: "more entries than the limit", maxEntries: 3, entries: func(string) []entry {
			return []entry{dir("a/"), file("a/1", "1"), file("a/2", "2"), file("a/3", "3"), file("a/4", "4")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			dst := filepath.Join(base, "rootfs")
			if err := os.Mkdir(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			victim := filepath.Join(base, "victim")
			if err := os.WriteFile(victim, []byte(victimContent), 0o644); err != nil {
				t.Fatal(err)
			}
			_, etcErr := os.Lstat("/etc/durable-untar-test")
			lim := limits{bytes: 1 << 20, entries: maxEntries}
			if tt.maxBytes != 0 {
				lim.bytes = tt.maxBytes
			}
			if tt.maxEntries != 0 {
				lim.entries = tt.maxEntries
			}

			err := untar(context.Background(), bytes.NewReader(tarOf(t, tt.entries(base)...)), dst, lim)
			if !errors.Is(err, adapters.ErrInvalid) {
				t.Errorf("untar: %v, want ErrInvalid", err)
			}
			if err != nil && !strings.Contains(err.Error(), "entry ") {
				t.Errorf("the error does not name the offending entry: %v", err)
			}
			if got := outside(t, base, dst); !slices.Equal(got, []string{".", "victim"}) {
				t.Errorf("untar wrote outside its directory: %v", got)
			}
			if b, err := os.ReadFile(victim); err != nil || string(b) != victimContent {
				t.Errorf("a file outside the directory changed: %q, %v", b, err)
			}
			if errors.Is(etcErr, fs.ErrNotExist) {
				if _, err := os.Lstat("/etc/durable-untar-test"); err == nil {
					os.Remove("/etc/durable-untar-test")
					t.Errorf("untar wrote /etc/durable-untar-test")
				}
			}
		})
	}
}

func TestUntarUnpacksABenignImage(t *testing.T) {
	dst := t.TempDir()
	layer := tarOf(t,
		dir("./"),
		dir("bin/"),
		entry{Header: tar.Header{Name: "bin/app", Typeflag: tar.TypeReg, Mode: 0o755, Size: 4}, body: "#!x\n"},
		dir("etc/"),
		file("etc/conf", "key=value\n"),
		file("./etc/other", "other\n"),
		file("deep/er/file", "made its parents\n"),
		symlink("bin/conf", "../etc/conf"),
		symlink("current", "bin"),
		hardlink("bin/app2", "bin/app"),
		entry{Header: tar.Header{Name: "dev/fifo", Typeflag: tar.TypeFifo, Mode: 0o644}},
		entry{Header: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3}},
	)
	if err := untar(context.Background(), bytes.NewReader(layer), dst, limits{bytes: 1 << 20, entries: maxEntries}); err != nil {
		t.Fatalf("untar: %v", err)
	}

	for p, want := range map[string]string{
		"bin/app":      "#!x\n",
		"bin/app2":     "#!x\n",
		"etc/conf":     "key=value\n",
		"etc/other":    "other\n",
		"deep/er/file": "made its parents\n",
		"bin/conf":     "key=value\n", // through the symlink
		"current/app":  "#!x\n",       // through the directory symlink
	} {
		b, err := os.ReadFile(filepath.Join(dst, p))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", p, b, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dst, "bin/app")); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("bin/app lost its executable bit: %v, %v", fi, err)
	}
	for link, want := range map[string]string{"bin/conf": "../etc/conf", "current": "bin"} {
		if got, err := os.Readlink(filepath.Join(dst, link)); err != nil || got != want {
			t.Errorf("symlink %s → %q, %v; want %q", link, got, err, want)
		}
	}
	a, errA := os.Stat(filepath.Join(dst, "bin/app"))
	b, errB := os.Stat(filepath.Join(dst, "bin/app2"))
	if errA != nil || errB != nil || !os.SameFile(a, b) {
		t.Errorf("bin/app2 is not a hard link of bin/app: %v, %v", errA, errB)
	}
	for _, p := range []string{"dev/fifo", "dev/null"} {
		if _, err := os.Lstat(filepath.Join(dst, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: a device or fifo entry was not skipped: %v", p, err)
		}
	}
}

func TestUntarStopsOnACancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dst := t.TempDir()
	err := untar(ctx, bytes.NewReader(tarOf(t, file("a", "a"))), dst, limits{bytes: 1 << 20, entries: maxEntries})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("untar with a cancelled context: %v, want context.Canceled", err)
	}
	if got := tree(t, dst); !slices.Equal(got, []string{"."}) {
		t.Errorf("untar with a cancelled context wrote %v", got)
	}
}

// pushImage pushes an image of one layer (the tar given) and the
// entrypoint given to the shared test registry and returns it pinned by
// digest.
func pushImage(t *testing.T, repo string, layerBytes []byte, entrypoint ...string) string {
	t.Helper()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	if len(entrypoint) > 0 {
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cfg = cfg.DeepCopy()
		cfg.Config.Entrypoint = entrypoint
		if img, err = mutate.ConfigFile(img, cfg); err != nil {
			t.Fatal(err)
		}
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewDigest(testRegistry(t) + "/" + repo + "@" + digest.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	return ref.String()
}

// TestEnsureRefusesAHostileImage pushes images whose only layer tries to
// leave the rootfs (or is too large) and checks that Ensure refuses them as
// invalid, naming the entry, and unpacks nothing and starts nothing.
func TestEnsureRefusesAHostileImage(t *testing.T) {
	tests := []struct {
		name     string
		entries  func(base string) []entry
		maxBytes int64
		want     string // in the error
	}{
		{name: "parent name", entries: func(string) []entry { return []entry{file("../x", "pwned")} }, want: `"../x"`},
		{name: "absolute name", entries: func(base string) []entry { return []entry{file(filepath.Join(base, "x"), "pwned")} }, want: "absolute"},
		{name: "absolute name in etc", entries: func(string) []entry { return []entry{file("/etc/x", "pwned")} }, want: `"/etc/x"`},
		{name: "symlink to the root", entries: func(string) []entry { return []entry{symlink("root", "/")} }, want: `"root"`},
		{name: "hard link to a host file", entries: func(string) []entry {
			return []entry{hardlink("h", "/etc/passwd"), file("h", "pwned")}
		}, want: `"h"`},
		{name: "hard link through in-tree symlinks", entries: func(string) []entry {
			return []entry{dir("a/"), symlink("a/up", ".."), symlink("out", "a/up/.."), hardlink("h", "out/victim"), file("h", "pwned")}
		}, want: `"out"`},
		{name: "larger than maxUnpackBytes", maxBytes: 8192, entries: func(string) []entry {
			return []entry{file("small", "12345"), file("big", strings.Repeat("x", 20000))}
		}, want: `"big"`},
		{name: "symlink through a link to its own directory", entries: func(string) []entry {
			return []entry{symlink("b", "."), symlink("x", "b/..")}
		}, want: `"x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			root := filepath.Join(base, "runtime")
			artifact := pushImage(t, "hostile/image", tarOf(t, tt.entries(base)...))
			rt := newRuntimeWith(t, Config{Process: settings.Process{MaxUnpackBytes: tt.maxBytes}, Root: root})
			spec := demoSpec("hostile", 1)
			spec.Artifact = artifact

			_, err := rt.Ensure(context.Background(), spec)
			if !errors.Is(err, adapters.ErrInvalid) || !strings.Contains(err.Error(), "unpack") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Ensure of a hostile image: %v, want an unpack error wrapping ErrInvalid and naming %s", err, tt.want)
			}
			t.Logf("Ensure of a hostile image: %v", err)
			if got := outside(t, base, root); !slices.Equal(got, []string{"."}) {
				t.Errorf("unpacking wrote outside the runtime root: %v", got)
			}
			if got := tree(t, filepath.Join(root, "images")); !slices.Equal(got, []string{"."}) {
				t.Errorf("a refused image left files: %v", got)
			}
			if sets := observe(t, rt); len(sets) != 0 {
				t.Errorf("a refused image started instances: %+v", sets)
			}
		})
	}
}

// TestUntarMakesFilesReadableByEveryUser: the user instances run as
// (--run-as) does not own the unpacked files, so each is readable by all,
// and runnable by all if by anyone; none is writable but by its owner, nor
// keeps a setuid bit.
func TestUntarMakesFilesReadableByEveryUser(t *testing.T) {
	dst := t.TempDir()
	reg := func(name string, mode int64) entry {
		return entry{Header: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: 1}, body: "x"}
	}
	layer := tarOf(t, reg("private", 0o600), reg("owner-exec", 0o700), reg("shared", 0o666), reg("setuid", 0o4755), reg("none", 0))
	if err := untar(context.Background(), bytes.NewReader(layer), dst, limits{bytes: 1 << 20, entries: maxEntries}); err != nil {
		t.Fatalf("untar: %v", err)
	}
	for name, want := range map[string]os.FileMode{"private": 0o644, "owner-exec": 0o755, "shared": 0o644, "setuid": 0o755, "none": 0o444} {
		fi, err := os.Stat(filepath.Join(dst, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %s, want %s", name, fi.Mode(), want)
		}
	}
}
