package examples

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// AppEntrypoint is where the demo service's binary sits inside its image.
const AppEntrypoint = "/app/quickstart"

// BuildApp compiles the quickstart demo service at the given version into
// dir with the Go toolchain and returns the binary's path. The source is the
// embedded copy, so this works from any working directory.
func BuildApp(ctx context.Context, version, dir string) (string, error) {
	src := filepath.Join(dir, "src-"+version)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	main, err := fs.ReadFile(Quickstart(), "app/main.go")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), main, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module quickstart\n\ngo 1.26\n"), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "quickstart-"+version)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+version, "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build quickstart app %s (needs the Go toolchain on PATH): %w\n%s", version, err, b)
	}
	return out, nil
}

// AppImage packs a static binary as a one-layer OCI image whose entrypoint
// runs it from AppEntrypoint.
func AppImage(binary, version string) (v1.Image, error) {
	data, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	for _, h := range []*tar.Header{
		{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch},
		{Name: AppEntrypoint[1:], Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data)), ModTime: epoch},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Entrypoint = []string{AppEntrypoint}
	cfg.Config.Env = []string{"APP_VERSION=" + version}
	cfg.Config.Labels = map[string]string{"org.opencontainers.image.version": version}
	return mutate.ConfigFile(img, cfg)
}

// Push writes img to the repository under tag and returns the reference
// pinned by digest (repo@sha256:…).
func Push(ctx context.Context, img v1.Image, repository, tag string) (string, error) {
	ref, err := name.NewTag(repository + ":" + tag)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return ref.Context().Digest(d.String()).String(), nil
}

// BuildAndPush builds the demo service at each version and pushes it to
// registryHost/quickstart/web, returning version → pinned reference.
func BuildAndPush(ctx context.Context, registryHost, dir string, versions ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range versions {
		bin, err := BuildApp(ctx, v, dir)
		if err != nil {
			return nil, err
		}
		img, err := AppImage(bin, v)
		if err != nil {
			return nil, err
		}
		ref, err := Push(ctx, img, registryHost+"/quickstart/web", v)
		if err != nil {
			return nil, err
		}
		out[v] = ref
	}
	return out, nil
}
