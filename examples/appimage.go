package examples

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/durable-delivery/durable/pack"
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

// AppImage packs a static binary with pack, as `durable pack` does: a
// one-layer image whose entrypoint runs it from AppEntrypoint.
func AppImage(binary, version string) (pack.Artifact, error) {
	return pack.Build(pack.Spec{
		Entrypoint: AppEntrypoint,
		Env:        []string{"APP_VERSION=" + version},
		Labels:     map[string]string{"org.opencontainers.image.version": version},
	}, []pack.Input{{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Binary: binary}}, nil)
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
		ref, err := pack.Push(ctx, img, registryHost+"/quickstart/web:"+v)
		if err != nil {
			return nil, err
		}
		out[v] = ref
	}
	return out, nil
}
