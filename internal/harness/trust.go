package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/durable-delivery/durable/signing"
)

// SignAndTrust signs every artifact with a key made for the occasion, as a
// release pipeline would with cosign, and writes the trust file that accepts
// that key for the registry's quickstart images. It returns the trust file.
func SignAndTrust(ctx context.Context, dir, registryHost string, artifacts map[string]string) (string, error) {
	key, err := signing.NewKey()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
		return "", err
	}
	if err := key.WritePublic(filepath.Join(dir, "keys", "release.pub")); err != nil {
		return "", err
	}
	versions := make([]string, 0, len(artifacts))
	for v := range artifacts {
		versions = append(versions, v)
	}
	sort.Strings(versions)
	for _, v := range versions {
		if err := key.Sign(ctx, artifacts[v]); err != nil {
			return "", err
		}
	}
	trust := fmt.Sprintf(`# The reconciler's trust: the key the demo signed its images with.
artifacts:
  - match: %q
    keys: ["keys/release.pub"]
commits:
  mode: off
`, registryHost+"/quickstart/*")
	file := filepath.Join(dir, "trust.yaml")
	return file, os.WriteFile(file, []byte(trust), 0o644)
}
