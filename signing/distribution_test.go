package signing

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// distributionRegistry runs Debian's docker-registry (the CNCF distribution
// server) on a free 127.0.0.1 port, storing in a temporary directory, and
// returns its host:port and a function that stops it.
func distributionRegistry(t *testing.T) (string, func()) {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatalf("docker-registry is not installed (hack/install-deps.sh installs it): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), host)
	writeFile(t, filepath.Join(dir, "config.yml"), config)
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	log, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-done
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return host, stop
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Fatalf("docker-registry did not answer on %s: %v\n%s", host, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Against the real registry server users run: a signed image verifies, an
// unsigned one is refused, and a registry that went away is unreachable.
func TestVerifyAgainstDistributionRegistry(t *testing.T) {
	host, stop := distributionRegistry(t)
	reg := &testRegistry{host: host}
	signed := reg.pushImage(t, "shop/web", "v1")
	unsigned := reg.pushImage(t, "shop/web", "v2")
	dir := t.TempDir()
	key := newKey(t, dir, "release", "p256", crypto.SHA256)
	signClassic(t, signed, key)
	v := verifierFor(t, dir, trustYAML(host, []testKey{key}))
	ctx := context.Background()

	verdict, err := v.Verify(ctx, signed.String())
	if err != nil || verdict.Format != FormatCosignSig || verdict.Signer.Identity != key.file {
		t.Fatalf("signed image: %+v, %v", verdict, err)
	}
	if _, err := v.Verify(ctx, unsigned.String()); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("unsigned image: %v, want ErrUnsigned", err)
	}
	stop()
	fresh := verifierFor(t, dir, trustYAML(host, []testKey{key}), WithTimeout(5*time.Second))
	if _, err := fresh.Verify(ctx, signed.String()); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("registry gone: %v, want ErrUnreachable", err)
	}
}
