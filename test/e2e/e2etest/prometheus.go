package e2etest

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/harness"
)

// StartPrometheus runs Debian's Prometheus on a free 127.0.0.1 port with
// config (a prometheus.yml), its data and log under dir, waits until it is
// ready, and returns its URL. It is stopped when the test ends.
func StartPrometheus(ctx context.Context, t *testing.T, dir, config string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus is not installed (hack/install-deps.sh installs it): %v", err)
	}
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := harness.StartChild("prometheus", bin, filepath.Join(dir, "prometheus.log"), "--config.file="+cfgFile,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(10 * time.Second) })
	url := "http://" + addr
	WaitFor(ctx, t, "Prometheus to be ready", func() bool {
		resp, err := http.Get(url + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return url
}
