package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/durable-delivery/durable/examples"
)

func TestLoadCaps(t *testing.T) {
	manyFiles := func(n int) fstest.MapFS {
		fsys := fstest.MapFS{}
		for i := range n {
			fsys[fmt.Sprintf("f%04d.cue", i)] = &fstest.MapFile{Data: []byte("package demo\n")}
		}
		return fsys
	}
	padded := func(size int) []byte {
		head := "package demo\n//"
		return []byte(head + strings.Repeat("x", size-len(head)))
	}
	cases := []struct {
		name string
		fsys fstest.MapFS
		want string
	}{{
		name: "too many files",
		fsys: manyFiles(MaxFiles + 1),
		want: "f1000.cue: more than 1000 .cue files in the repository's desired state, the limit; merge small files",
	}, {
		name: "oversized file",
		fsys: repo(map[string]string{"big.cue": string(padded(MaxFileBytes + 1))}),
		want: "big.cue: is larger than 1 MiB, the limit for one .cue file; split it or keep large data out of the desired state",
	}, {
		name: "too much in all",
		fsys: func() fstest.MapFS {
			fsys := repo(nil)
			for _, name := range []string{"a.cue", "b.cue", "c.cue", "d.cue", "e.cue"} {
				fsys[name] = &fstest.MapFile{Data: padded(900 << 10)}
			}
			return fsys
		}(),
		want: "e.cue: the .cue files up to this one hold more than 4 MiB in all, the limit for a repository; keep large data out of the desired state",
	}, {
		name: "a directory named like a .cue file is ignored",
		fsys: repo(map[string]string{"odd.cue/x.cue": "package demo"}),
		want: "",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(c.fsys)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestLoadAtTheCaps(t *testing.T) {
	fsys := repo(map[string]string{"big.cue": "package demo\n//" + strings.Repeat("x", MaxFileBytes-len("package demo\n//"))})
	for i := range MaxFiles - 3 {
		fsys[fmt.Sprintf("f%04d.cue", i)] = &fstest.MapFile{Data: []byte("package demo\n")}
	}
	if _, err := Load(fsys); err != nil {
		t.Fatalf("Load at exactly %d files and a %d-byte file: %v", MaxFiles, MaxFileBytes, err)
	}
}

// quickstartDir lays the quickstart example out in a temporary directory.
func quickstartDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	if err := os.CopyFS(dir, examples.Quickstart()); err != nil {
		t.Fatalf("copy quickstart: %v", err)
	}
	return dir
}

func TestLoadDir(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside.cue")
	if err := os.WriteFile(outside, []byte("package quickstart\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{{
		name:  "quickstart",
		setup: func(t *testing.T, dir string) {},
	}, {
		name: "symlink inside the repository",
		setup: func(t *testing.T, dir string) {
			mustWrite(t, filepath.Join(dir, "more", "zone.cue"), "package quickstart\n\ntargets: local: zone: \"local\"\n")
			mustSymlink(t, filepath.Join("more", "zone.cue"), filepath.Join(dir, "zone.cue"))
		},
	}, {
		name: "absolute symlink outside",
		setup: func(t *testing.T, dir string) {
			mustSymlink(t, outside, filepath.Join(dir, "evil.cue"))
		},
		want: "evil.cue: is a symbolic link to a file outside the repository; replace it with the file itself",
	}, {
		name: "relative symlink outside",
		setup: func(t *testing.T, dir string) {
			rel, err := filepath.Rel(dir, outside)
			if err != nil {
				t.Fatal(err)
			}
			mustSymlink(t, rel, filepath.Join(dir, "evil.cue"))
		},
		want: "evil.cue: is a symbolic link to a file outside the repository; replace it with the file itself",
	}, {
		name: "symlink through an inside link to outside",
		setup: func(t *testing.T, dir string) {
			mustSymlink(t, filepath.Dir(outside), filepath.Join(dir, "out"))
			mustSymlink(t, filepath.Join("out", "outside.cue"), filepath.Join(dir, "evil.cue"))
		},
		want: "evil.cue: is a symbolic link to a file outside the repository; replace it with the file itself",
	}, {
		name: "dangling symlink",
		setup: func(t *testing.T, dir string) {
			mustSymlink(t, "nowhere.cue", filepath.Join(dir, "gone.cue"))
		},
		want: "gone.cue: is a symbolic link that cannot be followed: no such file or directory",
	}, {
		name: "symlink to a directory",
		setup: func(t *testing.T, dir string) {
			mustSymlink(t, "app", filepath.Join(dir, "app.cue"))
		},
		want: "app.cue: is a directory, not a regular file; a .cue file at the root must be a plain file",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := quickstartDir(t)
			c.setup(t, dir)
			ds, err := LoadDir(dir)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Fatalf("got  %q\nwant %q", got, c.want)
			}
			if err == nil && ds.Services["web"].Run.Replicas != 2 {
				t.Errorf("loaded %+v", ds)
			}
		})
	}
}

func TestLoadDirThroughSymlinkedRoot(t *testing.T) {
	dir := quickstartDir(t)
	link := filepath.Join(t.TempDir(), "current")
	mustSymlink(t, dir, link)
	mustSymlink(t, filepath.Join(dir, "release.cue"), filepath.Join(dir, "again.cue"))
	if _, err := LoadDir(link); err != nil {
		t.Fatalf("LoadDir(symlinked root): %v", err)
	}
}

func TestLoadDirMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	_, err := LoadDir(dir)
	want := "cannot read the repository directory " + dir + ": no such file or directory"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func mustWrite(t *testing.T, name, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatalf("symlink: %v", err)
	}
}
