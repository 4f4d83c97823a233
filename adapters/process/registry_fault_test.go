package process

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/internal/hangtest"
	"github.com/durable-delivery/durable/internal/httpguard"
)

// withQuickRegistry bounds the test's registry requests by 200 ms timeouts
// and one try instead of the production defaults, until the test ends.
func withQuickRegistry(t *testing.T) {
	savedTransport, savedBackoff := registryTransport, registryBackoff
	q := 200 * time.Millisecond
	registryTransport = httpguard.Transport(httpguard.Timeouts{Connect: q, Header: q, Idle: q})
	registryBackoff = remote.Backoff{Duration: q, Steps: 1}
	t.Cleanup(func() { registryTransport, registryBackoff = savedTransport, savedBackoff })
}

// faultDigest is a digest no registry of these tests serves.
const faultDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// ensureOn runs Ensure of an artifact of the registry at addr, with the
// caller's deadline, and returns its error and how long it took.
func ensureOn(t *testing.T, addr string, deadline time.Duration) (time.Duration, error) {
	t.Helper()
	rt := newRuntimeWith(t, Config{Root: t.TempDir()})
	spec := demoSpec("web-fault", 1)
	spec.Artifact = addr + "/demo@" + faultDigest
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	_, err := rt.Ensure(ctx, spec)
	took := time.Since(start)
	t.Logf("Ensure gave up after %s: %v", took.Round(time.Millisecond), err)
	return took, err
}

// TestEnsureOnHungRegistry: a registry that accepts and never answers fails
// Ensure at the caller's deadline, and at the transport's timeouts when the
// caller gives a longer one; never later.
func TestEnsureOnHungRegistry(t *testing.T) {
	withQuickRegistry(t)
	addr := hangtest.FakeHungTCP(t)

	took, err := ensureOn(t, addr, 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || took > time.Second {
		t.Errorf("hung registry, caller's deadline 300ms: %v after %s; want the deadline within 1s", err, took)
	}
	if err == nil || !strings.Contains(err.Error(), "registry "+addr) {
		t.Errorf("error %v does not name the registry %s", err, addr)
	}

	took, err = ensureOn(t, addr, time.Minute)
	if !errors.Is(err, adapters.ErrUnavailable) || took > 2*time.Second {
		t.Errorf("hung registry, 200ms timeouts: %v after %s; want ErrUnavailable within 2s", err, took)
	}
	if err == nil || !strings.Contains(err.Error(), "registry "+addr+" is unreachable or not answering") {
		t.Errorf("error %v does not say the registry %s is not answering", err, addr)
	}
}

// TestEnsureOnStalledRegistry: a registry that sends a manifest's headers
// and then nothing fails Ensure once no byte came for the idle timeout.
func TestEnsureOnStalledRegistry(t *testing.T) {
	withQuickRegistry(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return // no authentication: 200
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"schemaVersion":`))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")

	took, err := ensureOn(t, addr, time.Minute)
	if !errors.Is(err, adapters.ErrUnavailable) || took > 2*time.Second {
		t.Fatalf("stalled manifest body, 200ms idle timeout: %v after %s; want ErrUnavailable within 2s", err, took)
	}
}

// TestEnsureOnDownRegistry: a registry nothing listens for fails Ensure at
// once, saying it is unreachable.
func TestEnsureOnDownRegistry(t *testing.T) {
	withQuickRegistry(t)
	addr := hangtest.FakeDownTCP(t)
	took, err := ensureOn(t, addr, time.Minute)
	if !errors.Is(err, adapters.ErrUnavailable) || took > time.Second {
		t.Fatalf("down registry: %v after %s; want ErrUnavailable within 1s", err, took)
	}
	if !strings.Contains(err.Error(), "registry "+addr+" is unreachable") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %v does not say the registry %s is unreachable", err, addr)
	}
}
