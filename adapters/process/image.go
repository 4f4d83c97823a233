package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/internal/httpguard"
)

// registryTransport bounds every request to a registry: a hung or stalled
// one fails the pull (and the set's Ensure) instead of holding it.
var registryTransport = httpguard.Transport(httpguard.Defaults)

// registryBackoff retries a failed request to a registry (a refused
// connection, a timeout): 3 tries, 1 s then 3 s apart, as
// go-containerregistry does by default. With httpguard.Defaults a registry
// that accepts and never answers fails one request after about
// 3 × 30 s + 4 s, unless the caller's deadline comes first.
var registryBackoff = remote.Backoff{Duration: time.Second, Factor: 3, Jitter: 0.1, Steps: 3}

// unpackPrefix starts the name of an image directory still being written:
// .unpack-<pid>-sha256-<hex>-<random>, the pid of the process writing it.
const unpackPrefix = ".unpack-"

// unpacked is an image laid out on disk.
type unpacked struct {
	rootfs string
	config v1.Config
}

// image returns the artifact unpacked under <root>/images/sha256-<hex>:
// rootfs/ (its files) and config.json (how to run it).
//
// Invariant: an image directory exists only complete. It is written under a
// temporary name and renamed into place in one step, so a crash or a
// refused layer never leaves a half-unpacked image to be run, and two
// runtimes unpacking the same digest at once both end with the same
// complete directory. Its content was checked against the digest when it was
// fetched, so it runs again without asking the registry.
func (r *Runtime) image(ctx context.Context, artifact string) (unpacked, error) {
	ref, err := name.NewDigest(artifact)
	if err != nil {
		return unpacked{}, fmt.Errorf("artifact %q must be pinned by digest (REPOSITORY@sha256:<64 hex>): %w", artifact, adapters.ErrInvalid)
	}
	digest := ref.DigestStr()
	if !strings.HasPrefix(digest, "sha256:") {
		return unpacked{}, fmt.Errorf("artifact %q: only sha256 digests are supported: %w", artifact, adapters.ErrInvalid)
	}
	images := filepath.Join(r.root, "images")
	dir := filepath.Join(images, strings.Replace(digest, ":", "-", 1))

	unlock, err := r.images.lock(ctx, digest)
	if err != nil {
		return unpacked{}, fmt.Errorf("artifact %s: %w", artifact, err)
	}
	defer unlock()
	if img, err := readUnpacked(dir); err == nil {
		return img, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return unpacked{}, fmt.Errorf("artifact %s: unpacked image %s is damaged (delete it to fetch again): %w", artifact, dir, err)
	}

	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithTransport(registryTransport), remote.WithRetryBackoff(registryBackoff))
	if err != nil {
		return unpacked{}, fetchError(ctx, ref, err)
	}
	got, err := img.Digest()
	if err != nil {
		return unpacked{}, fmt.Errorf("fetch %s: %w", artifact, err)
	}
	if got.String() != digest {
		return unpacked{}, fmt.Errorf("fetch %s: the registry served a manifest of digest %s: %w", artifact, got, adapters.ErrInvalid)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return unpacked{}, fetchError(ctx, ref, fmt.Errorf("config: %w", err))
	}

	if err := os.MkdirAll(images, 0o755); err != nil {
		return unpacked{}, fmt.Errorf("images directory: %w", err)
	}
	tmp, err := os.MkdirTemp(images, unpackPrefix+strconv.Itoa(os.Getpid())+"-"+filepath.Base(dir)+"-")
	if err != nil {
		return unpacked{}, fmt.Errorf("images directory: %w", err)
	}
	defer os.RemoveAll(tmp) // gone once renamed; the remains of a failure otherwise
	// MkdirTemp makes it 0700: the user instances run as must get through.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return unpacked{}, fmt.Errorf("images directory: %w", err)
	}
	rootfs := filepath.Join(tmp, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return unpacked{}, err
	}
	if err := r.unpack(ctx, img, rootfs); err != nil {
		return unpacked{}, fmt.Errorf("unpack %s: %w", artifact, err)
	}
	if err := writeConfig(tmp, cfg.Config); err != nil {
		return unpacked{}, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another runtime on this root may have won the race: use its copy.
		if img, readErr := readUnpacked(dir); readErr == nil {
			return img, nil
		}
		return unpacked{}, fmt.Errorf("unpack %s: %w", artifact, err)
	}
	r.log.Info("image unpacked", "artifact", artifact, "dir", dir)
	return unpacked{rootfs: filepath.Join(dir, "rootfs"), config: cfg.Config}, nil
}

// unpack writes the image's layers, flattened, under rootfs.
func (r *Runtime) unpack(ctx context.Context, img v1.Image, rootfs string) error {
	layers := mutate.Extract(img)
	defer layers.Close() // stops the extracting goroutine if untar gave up early
	if err := untar(ctx, layers, rootfs, limits{bytes: r.maxUnpackBytes, entries: maxEntries}); err != nil {
		return err
	}
	// Extract writes the tar trailer before it reports its own failure (a
	// layer that cannot be downloaded, or a name it refuses): only reading
	// on to the end of the stream shows it.
	_, err := io.Copy(io.Discard, io.LimitReader(layers, 1<<20))
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case strings.Contains(err.Error(), "unsafe tar path"):
		// go-containerregistry refuses names that climb out (../x) itself,
		// with no error type to test: the image is at fault, not the
		// registry.
		return fmt.Errorf("layers: %w: %w", err, adapters.ErrInvalid)
	default:
		return fmt.Errorf("layers: %w: %w", adapters.ErrUnavailable, err)
	}
}

// fetchError says why an image could not be fetched: the caller's deadline,
// a registry without that digest (ErrNotFound), or a registry that could
// not answer (ErrUnavailable). Each names the registry and what to check.
func fetchError(ctx context.Context, ref name.Digest, err error) error {
	registry := ref.Context().RegistryStr()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("fetch %s: registry %s did not serve it before the caller's deadline (a slow or hung registry; the pull is tried again): %w: %w", ref, registry, ctxErr, err)
	}
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return fmt.Errorf("fetch %s: the registry has no such manifest (push the image, or check the digest): %w: %w", ref, adapters.ErrNotFound, err)
	}
	return fmt.Errorf("fetch %s: registry %s is unreachable or not answering (check that it runs and that this host reaches it; the pull is tried again): %w: %w", ref, registry, adapters.ErrUnavailable, err)
}

// writeConfig keeps the image's run configuration beside its files, so an
// unpacked image runs without the registry.
func writeConfig(dir string, cfg v1.Config) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}

func readUnpacked(dir string) (unpacked, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return unpacked{}, err
	}
	var cfg v1.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return unpacked{}, fmt.Errorf("image config %s: %w", dir, err)
	}
	return unpacked{rootfs: filepath.Join(dir, "rootfs"), config: cfg}, nil
}

// removeAbandonedUnpacks deletes the temporary directories of unpacks whose
// process has died (a crash mid-unpack). A live process's unpack is left
// alone.
func (r *Runtime) removeAbandonedUnpacks() {
	entries, err := os.ReadDir(filepath.Join(r.root, "images"))
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), unpackPrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
			continue // its writer still runs
		}
		p := filepath.Join(r.root, "images", e.Name())
		if err := os.RemoveAll(p); err != nil {
			r.log.Warn("cannot remove an abandoned unpack", "dir", p, "err", err)
		}
	}
}
