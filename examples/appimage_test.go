package examples

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestBuildAndPushPinsByDigest(t *testing.T) {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	refs, err := BuildAndPush(context.Background(), host, t.TempDir(), "v1", "v2")
	if err != nil {
		t.Fatal(err)
	}
	if refs["v1"] == refs["v2"] {
		t.Fatalf("two versions share one digest: %v", refs)
	}
	for v, ref := range refs {
		d, err := name.NewDigest(ref)
		if err != nil {
			t.Fatalf("%s: %q is not pinned by digest: %v", v, ref, err)
		}
		img, err := remote.Image(d)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Config.Entrypoint; len(got) != 1 || got[0] != AppEntrypoint {
			t.Errorf("%s: entrypoint %v", v, got)
		}
		if cfg.Config.Labels["org.opencontainers.image.version"] != v {
			t.Errorf("%s: version label %v", v, cfg.Config.Labels)
		}
	}
}
