package pack

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/durable-delivery/durable/internal/registrytest"
)

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

func write(t *testing.T, file, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(file, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
}

// randomTree writes a folder of n files in random places, in an order and
// with times and read/write bits that vary with seed; the content and the
// execute bits depend only on n.
func randomTree(t *testing.T, dir string, n int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	order := r.Perm(n)
	for _, i := range order {
		file := filepath.Join(dir, fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%d", i))
		mode := os.FileMode(0o600 | r.IntN(2)*0o044)
		if i%4 == 0 {
			mode |= 0o100
		}
		write(t, file, strings.Repeat(fmt.Sprint(i), i+1), mode)
		when := time.Unix(r.Int64N(1<<31), 0)
		if err := os.Chtimes(file, when, when); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "web"), "#!/bin/sh\n", 0o700+os.FileMode(r.IntN(2))*0o055)
	if err := os.Symlink("d0/f0", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
}

// Packing the same content twice, from folders written in another order,
// at other times and with other read bits, gives the same digest; a changed
// byte or an added variable gives another. The cases are generated.
func TestRepackGivesTheSameDigest(t *testing.T) {
	spec := Spec{Entrypoint: "web", Env: []string{"A=1"}}
	for n := 1; n <= 40; n += 13 {
		a, b := t.TempDir(), t.TempDir()
		randomTree(t, a, n, uint64(n))
		randomTree(t, b, n, uint64(n)+1000)
		da, db := digestOf(t, spec, a), digestOf(t, spec, b)
		if da != db {
			t.Fatalf("%d files: two packs of the same content: %s and %s", n, da, db)
		}
		write(t, filepath.Join(b, "d0", "f0"), "changed", 0o644)
		if digestOf(t, spec, b) == da {
			t.Fatalf("%d files: a changed file kept the digest %s", n, da)
		}
		if digestOf(t, Spec{Entrypoint: "web", Env: []string{"A=2"}}, a) == da {
			t.Fatalf("%d files: another environment kept the digest %s", n, da)
		}
	}
}

func digestOf(t *testing.T, s Spec, dir string) string {
	t.Helper()
	a, err := Build(s, []Input{{Platform: amd64, Content: dir}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// A packed folder, pushed to a real registry and read back, is what the
// process runtime runs: the entrypoint under /app, the working directory
// /app, the environment, and a layer of fixed times, owners and modes in
// name order.
func TestPushedImageIsWhatTheRuntimeRuns(t *testing.T) {
	host, _ := registrytest.Start(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "web"), "#!/bin/sh\n", 0o700)
	write(t, filepath.Join(dir, "static", "index.html"), "<p>hi</p>", 0o600)
	if err := os.Symlink("static/index.html", filepath.Join(dir, "home.html")); err != nil {
		t.Fatal(err)
	}
	a, err := Build(Spec{Entrypoint: "web", Args: []string{"--serve"}, Env: []string{"MODE=prod"}}, []Input{{Platform: amd64, Content: dir}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Push(context.Background(), a, host+"/shop/web:v1")
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatalf("Push returned %q, not pinned by digest: %v", ref, err)
	}
	img, err := remote.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if got := fmt.Sprintf("%v %v %s %v %s %s", c.Entrypoint, c.Cmd, c.WorkingDir, c.Env, cf.OS, cf.Architecture); got != "[/app/web] [--serve] /app [MODE=prod] linux amd64" || !cf.Created.IsZero() {
		t.Fatalf("config: %q, created %v", got, cf.Created)
	}
	want := "app/ d 755|app/home.html 2 777 static/index.html|app/static/ d 755|app/static/index.html 0 644|app/web 0 755"
	if got := listing(t, img); got != want {
		t.Fatalf("layer:\n got %s\nwant %s", got, want)
	}
}

// listing is the image's one layer: name, type, mode (and a link's target)
// of each entry in order, after checking every time and owner is zero.
func listing(t *testing.T, img v1.Image) string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return strings.Join(out, "|")
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: time %v, owner %d:%d %q", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname)
		}
		typ := string(h.Typeflag)
		if h.Typeflag == tar.TypeDir {
			typ = "d"
		}
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %o %s", h.Name, typ, h.Mode, h.Linkname)))
	}
}

// Several platforms make an index of one image each, ordered by platform
// whatever the order given, each with its binary at the entrypoint.
func TestSeveralPlatformsMakeAnIndex(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "amd64"), "amd64 program", 0o755)
	write(t, filepath.Join(dir, "arm64"), "arm64 program", 0o755)
	arm64 := v1.Platform{OS: "linux", Architecture: "arm64"}
	build := func(in ...Input) v1.Hash {
		a, err := Build(Spec{Entrypoint: "/app/web"}, in, nil)
		if err != nil || a.Index == nil {
			t.Fatalf("index %v, %v", a.Index, err)
		}
		m, err := a.Index.IndexManifest()
		if err != nil || len(m.Manifests) != 2 || m.Manifests[0].Platform.Architecture != "amd64" {
			t.Fatalf("index manifest %+v, %v", m, err)
		}
		d, _ := a.Digest()
		return d
	}
	one := build(Input{Platform: amd64, Binary: filepath.Join(dir, "amd64")}, Input{Platform: arm64, Binary: filepath.Join(dir, "arm64")})
	two := build(Input{Platform: arm64, Binary: filepath.Join(dir, "arm64")}, Input{Platform: amd64, Binary: filepath.Join(dir, "amd64")})
	if one != two {
		t.Fatalf("the order of the platforms changed the digest: %s, %s", one, two)
	}
}

// A base image goes below the packed layer; its environment stays unless
// the spec sets the same variable.
func TestBaseGoesBelow(t *testing.T) {
	host, _ := registrytest.Start(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "lib", "libc.so"), "libc", 0o644)
	base, err := Build(Spec{Entrypoint: "/bin/sh", Env: []string{"PATH=/bin", "MODE=base"}}, []Input{{Platform: amd64, Content: dir}}, nil)
	if err == nil {
		t.Fatal("a base without its entrypoint packed was accepted")
	}
	write(t, filepath.Join(dir, "sh"), "sh", 0o755)
	if base, err = Build(Spec{Entrypoint: "sh", Env: []string{"PATH=/bin", "MODE=base"}}, []Input{{Platform: amd64, Content: dir}}, nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	baseRef, err := Push(ctx, base, host+"/base")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RemoteBase(ctx, host+"/base:latest"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a base by tag: %v, want ErrInvalid", err)
	}
	b, err := RemoteBase(ctx, baseRef)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "web")
	write(t, bin, "web", 0o755)
	a, err := Build(Spec{Entrypoint: "web", Env: []string{"MODE=web"}}, []Input{{Platform: amd64, Binary: bin}}, b)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := a.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := a.Image.Layers()
	if fmt.Sprint(cf.Config.Env) != "[PATH=/bin MODE=web]" || len(layers) != 2 || cf.Config.Entrypoint[0] != "/app/web" {
		t.Fatalf("env %v, %d layers, entrypoint %v", cf.Config.Env, len(layers), cf.Config.Entrypoint)
	}
	if _, err := Build(Spec{Entrypoint: "web"}, []Input{{Platform: v1.Platform{OS: "linux", Architecture: "arm64"}, Binary: bin}}, b); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a base of another platform: %v, want ErrInvalid", err)
	}
}

// Hostile and broken inputs are refused, each with a message that names
// what is wrong.
func TestPackRefuses(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "ok", "web"), "web", 0o755)
	outside := func(target string) string {
		d := filepath.Join(dir, "link-"+fmt.Sprint(len(target)))
		write(t, filepath.Join(d, "web"), "web", 0o755)
		if err := os.Symlink(target, filepath.Join(d, "sub-link")); err != nil {
			t.Fatal(err)
		}
		return d
	}
	fifo := filepath.Join(dir, "fifo")
	write(t, filepath.Join(fifo, "web"), "web", 0o755)
	if err := syscall.Mkfifo(filepath.Join(fifo, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	noexec := filepath.Join(dir, "noexec")
	write(t, filepath.Join(noexec, "web"), "web", 0o644)
	ok := filepath.Join(dir, "ok")
	cases := []struct {
		name string
		spec Spec
		in   []Input
		want string
	}{
		{"absolute link", Spec{Entrypoint: "web"}, []Input{{Platform: amd64, Content: outside("/etc/passwd")}}, "absolute target points out"},
		{"climbing link", Spec{Entrypoint: "web"}, []Input{{Platform: amd64, Content: outside("../../secret")}}, "points out of the packed folder"},
		{"fifo", Spec{Entrypoint: "web"}, []Input{{Platform: amd64, Content: fifo}}, "cannot be packed"},
		{"missing folder", Spec{Entrypoint: "web"}, []Input{{Platform: amd64, Content: filepath.Join(dir, "nope")}}, "no such file"},
		{"missing binary", Spec{Entrypoint: "web"}, []Input{{Platform: amd64, Binary: filepath.Join(dir, "nope")}}, "no such file"},
		{"binary is a folder", Spec{Entrypoint: "web"}, []Input{{Platform: amd64, Binary: ok}}, "not a regular file"},
		{"no entrypoint", Spec{}, []Input{{Platform: amd64, Content: ok}}, "no entrypoint"},
		{"entrypoint not packed", Spec{Entrypoint: "server"}, []Input{{Platform: amd64, Content: ok}}, "packed: /app/web"},
		{"entrypoint not executable", Spec{Entrypoint: "web"}, []Input{{Platform: amd64, Content: noexec}}, "not an executable file"},
		{"entrypoint a folder", Spec{Entrypoint: "/app/"}, []Input{{Platform: amd64, Content: ok}}, "names a folder"},
		{"nothing", Spec{Entrypoint: "web"}, nil, "nothing to pack"},
		{"platform twice", Spec{Entrypoint: "web"}, []Input{{Platform: amd64, Content: ok}, {Platform: amd64, Content: ok}}, "given twice"},
		{"env without =", Spec{Entrypoint: "web", Env: []string{"MODE"}}, []Input{{Platform: amd64, Content: ok}}, "write NAME=VALUE"},
		{"env bad name", Spec{Entrypoint: "web", Env: []string{"1A=x"}}, []Input{{Platform: amd64, Content: ok}}, "write NAME=VALUE"},
		{"env PORT", Spec{Entrypoint: "web", Env: []string{"PORT=80"}}, []Input{{Platform: amd64, Content: ok}}, "the runtimes set it"},
		{"env DURABLE_", Spec{Entrypoint: "web", Env: []string{"DURABLE_SERVICE=x"}}, []Input{{Platform: amd64, Content: ok}}, "the runtimes set it"},
		{"env NUL", Spec{Entrypoint: "web", Env: []string{"A=a\x00b"}}, []Input{{Platform: amd64, Content: ok}}, "NUL"},
		{"env twice", Spec{Entrypoint: "web", Env: []string{"A=1", "A=2"}}, []Input{{Platform: amd64, Content: ok}}, "given twice"},
		{"env oversized", Spec{Entrypoint: "web", Env: []string{"A=" + strings.Repeat("x", 40<<10)}}, []Input{{Platform: amd64, Content: ok}}, "bytes, at most"},
		{"env too many", Spec{Entrypoint: "web", Env: manyEnv(300)}, []Input{{Platform: amd64, Content: ok}}, "at most 256"},
		{"env too large in all", Spec{Entrypoint: "web", Env: manyEnv(200, strings.Repeat("x", 1<<10))}, []Input{{Platform: amd64, Content: ok}}, "environment of"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Build(c.spec, c.in, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
		})
	}
}

func manyEnv(n int, value ...string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("V%d=%s", i, strings.Join(value, ""))
	}
	return out
}

func TestParsePlatform(t *testing.T) {
	for in, want := range map[string]string{"linux/amd64": "linux/amd64", "linux/arm/v7": "linux/arm/v7",
		"linux": "", "linux/": "", "/amd64": "", "a/b/c/d": "", "linux/am d64": "", "": ""} {
		p, err := ParsePlatform(in)
		if want == "" {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%q: %v, want ErrInvalid", in, err)
			}
		} else if err != nil || p.String() != want {
			t.Errorf("%q: %v, %v", in, p, err)
		}
	}
}

// Push refuses a target pinned by digest or not a reference at all.
func TestPushRefusesBadReferences(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "web")
	write(t, bin, "web", 0o755)
	a, err := Build(Spec{Entrypoint: "web"}, []Input{{Platform: amd64, Binary: bin}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"127.0.0.1:1/web@sha256:" + strings.Repeat("a", 64), "UPPER/Case", "", "a b"} {
		if _, err := Push(context.Background(), a, ref); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", ref, err)
		}
	}
}

// A base index gives each platform its own image; a platform it lacks is
// refused.
func TestBaseIndex(t *testing.T) {
	host, _ := registrytest.Start(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "sh"), "sh", 0o755)
	arm64 := v1.Platform{OS: "linux", Architecture: "arm64"}
	base, err := Build(Spec{Entrypoint: "/app/sh"}, []Input{{Platform: amd64, Binary: filepath.Join(dir, "sh")}, {Platform: arm64, Binary: filepath.Join(dir, "sh")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref, err := Push(ctx, base, host+"/base:multi")
	if err != nil {
		t.Fatal(err)
	}
	b, err := RemoteBase(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "web"), "web", 0o755)
	a, err := Build(Spec{Entrypoint: "web"}, []Input{{Platform: arm64, Binary: filepath.Join(dir, "web")}, {Platform: amd64, Binary: filepath.Join(dir, "web")}}, b)
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Index.IndexManifest()
	if err != nil || len(m.Manifests) != 2 {
		t.Fatalf("%+v, %v", m, err)
	}
	for _, desc := range m.Manifests {
		img, err := a.Index.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		layers, _ := img.Layers()
		if err != nil || cf.Architecture != desc.Platform.Architecture || len(layers) != 2 {
			t.Errorf("%s: config %+v, %d layers, %v", desc.Platform, cf, len(layers), err)
		}
	}
	s390x := v1.Platform{OS: "linux", Architecture: "s390x"}
	if _, err := Build(Spec{Entrypoint: "web"}, []Input{{Platform: s390x, Binary: filepath.Join(dir, "web")}}, b); err == nil || !strings.Contains(err.Error(), "has no image for linux/s390x") {
		t.Fatalf("a platform the base lacks: %v", err)
	}
}
