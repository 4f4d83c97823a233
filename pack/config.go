package pack

import (
	"fmt"
	"maps"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// configure writes how the image runs: the entrypoint from Dir with the
// spec's arguments, the base's environment with the spec's over it, the
// platform, and no time.
func configure(img v1.Image, s Spec, entry string, p v1.Platform) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cfg := cf.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant, cfg.OSVersion = p.OS, p.Architecture, p.Variant, ""
	cfg.Created = v1.Time{}
	cfg.Config.Entrypoint = []string{entry}
	cfg.Config.Cmd = s.Args
	cfg.Config.WorkingDir = Dir
	cfg.Config.Env = mergeEnv(cfg.Config.Env, s.Env)
	if len(s.Labels) > 0 {
		if cfg.Config.Labels == nil {
			cfg.Config.Labels = map[string]string{}
		}
		maps.Copy(cfg.Config.Labels, s.Labels)
	}
	for i := range cfg.History {
		cfg.History[i].Created = v1.Time{}
	}
	return mutate.ConfigFile(img, cfg)
}

// mergeEnv is the base's variables, those the spec sets again replaced.
func mergeEnv(base, own []string) []string {
	set := map[string]bool{}
	for _, kv := range own {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	var out []string
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); !set[k] {
			out = append(out, kv)
		}
	}
	return append(out, own...)
}

// layerMediaType is the layer type that matches the image's manifest: a
// Docker base keeps Docker's media types throughout.
func layerMediaType(img v1.Image) types.MediaType {
	if mt, err := img.MediaType(); err == nil && mt == types.DockerManifestSchema2 {
		return types.DockerLayer
	}
	return types.OCILayer
}

// statContent is the packed folder's or file's information, or an error
// that says what is wrong with it.
func statContent(src string) (os.FileInfo, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: a %s cannot be packed; give a folder or a file: %w", src, fi.Mode().Type(), ErrInvalid)
	}
	return fi, nil
}
