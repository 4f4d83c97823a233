package artifacts

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/internal/registrytest"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// durable runs the binary under test and returns its stdout, failing the
// test unless it exits 0.
func durable(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, e2etest.Bin, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("durable %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return strings.TrimSpace(string(out))
}

// refused runs a durable command that must exit 1, and returns its stderr.
func refused(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, e2etest.Bin, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("durable %s: %v, want exit 1\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The quickstart service, built with go build, packed, signed and released
// with Durable's commands alone, is rolled out by the reconciler: v1
// deployed, then v2 released by durable release, canaried and promoted
// under load with no failed request. Packing v1 again gives the same
// digest; an unsigned artifact and one signed by an untrusted key are
// refused by durable release, and the repository's head stays.
func TestPackSignReleaseRollsOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	reg, _ := registrytest.Start(t)
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys")
	if err := os.Mkdir(keys, 0o755); err != nil {
		t.Fatal(err)
	}
	durable(ctx, t, "keys", "new", "--output", filepath.Join(keys, "release"), "--password-file", pw)
	durable(ctx, t, "keys", "new", "--output", filepath.Join(dir, "intruder"), "--password-file", pw)

	pack := func(version, tag string) string {
		t.Helper()
		bin, err := examples.BuildApp(ctx, version, filepath.Join(dir, "build"))
		if err != nil {
			t.Fatal(err)
		}
		return durable(ctx, t, "pack", "--binary", "linux/amd64="+bin, "--entrypoint", "quickstart", "--env", "APP_VERSION="+version, "--push", reg+"/quickstart/web:"+tag)
	}
	sign := func(ref, key, format string) {
		t.Helper()
		durable(ctx, t, "sign", ref, "--key", key, "--password-file", pw, "--format", format)
	}
	v1, v2 := pack("v1", "v1"), pack("v2", "v2")
	if again := pack("v1", "v1-again"); again != v1 {
		t.Fatalf("packing v1 again gave %s, first %s", again, v1)
	}
	sign(v1, filepath.Join(keys, "release.key"), "bundle")
	sign(v2, filepath.Join(keys, "release.key"), "cosign-sig")
	trust := filepath.Join(dir, "trust.yaml")
	if err := os.WriteFile(trust, []byte(fmt.Sprintf("artifacts:\n  - match: %q\n    keys: [keys/release.pub]\ncommits:\n  mode: off\n", reg+"/quickstart/*")), 0o644); err != nil {
		t.Fatal(err)
	}

	f := e2etest.NewWith(t, ctx, dir, e2etest.Artifacts{Registry: reg, Refs: map[string]string{"v1": v1, "v2": v2}, Trust: trust})
	st, c1 := f.ServeV1(ctx, "Deploy web v1, packed and signed by durable")
	// durable release pushes to the repository's checked-out branch.
	if _, err := f.Repo.Git(ctx, "config", "receive.denyCurrentBranch", "updateInstead"); err != nil {
		t.Fatal(err)
	}

	v3 := durable(ctx, t, "pack", "--binary", "linux/amd64="+filepath.Join(dir, "build", "quickstart-v2"), "--entrypoint", "quickstart", "--env", "APP_VERSION=v3", "--push", reg+"/quickstart/web:v3")
	if msg := refused(ctx, t, "release", "web", v3, "--repo", f.Repo.Dir, "--trust", trust); !strings.Contains(msg, "not signed") {
		t.Fatalf("release of an unsigned artifact: %s", msg)
	}
	sign(v3, filepath.Join(dir, "intruder.key"), "bundle")
	if msg := refused(ctx, t, "release", "web", v3, "--repo", f.Repo.Dir, "--trust", trust); !strings.Contains(msg, "signed by no trusted key") {
		t.Fatalf("release of an artifact signed by another key: %s", msg)
	}
	if head, err := f.Repo.Head(ctx); err != nil || head != c1 {
		t.Fatalf("a refused release moved the head: %s, %v (v1 %s)", head, err, c1)
	}

	out := durable(ctx, t, "release", "web", v2, "--repo", f.Repo.Dir, "--trust", trust)
	c2, err := f.Repo.Head(ctx)
	if err != nil || c2 == c1 || !strings.Contains(out, "commit "+c2) {
		t.Fatalf("release printed %q; head %s, %v", out, c2, err)
	}
	msg, err := f.Repo.Git(ctx, "log", "-1", "--format=%B")
	if err != nil || !strings.Contains(msg, "release web: ") || !strings.Contains(msg, "New-Artifact: "+v2) || !strings.Contains(msg, "Old-Artifact: "+v1) {
		t.Fatalf("release commit message %q, %v", msg, err)
	}
	f.Converge(ctx, st, "release v2", c2, "v2")
	st.AssertNoFailedRequests(t)
}
