package examples

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

var shared struct {
	mu   sync.Mutex
	host string
	refs map[string]string
}

// SharedImage returns the demo service at version, built once per process
// and pushed to a registry on 127.0.0.1 that lives as long as the process:
// what adapter tests run when they need a real artifact.
func SharedImage(ctx context.Context, version string) (string, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if ref, ok := shared.refs[version]; ok {
		return ref, nil
	}
	if shared.host == "" {
		host, _, err := StartRegistry()
		if err != nil {
			return "", err
		}
		shared.host, shared.refs = host, map[string]string{}
	}
	dir, err := os.MkdirTemp("", "durable-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir) // the image lives in the registry once pushed
	refs, err := BuildAndPush(ctx, shared.host, dir, version)
	if err != nil {
		return "", err
	}
	shared.refs[version] = refs[version]
	return refs[version], nil
}

// StartRegistry serves an OCI registry (go-containerregistry's, in memory)
// on 127.0.0.1 in this process and returns its host:port and how to stop it.
func StartRegistry() (string, func(), error) { return StartRegistryOn("127.0.0.1:0") }

// StartRegistryOn is StartRegistry on the given address (an address of a
// fleet's bridge, which hosts in network namespaces reach).
func StartRegistryOn(address string) (string, func(), error) {
	l, err := net.Listen("tcp", address)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "registry:", err)
		}
	}()
	return l.Addr().String(), func() { _ = srv.Close() }, nil
}
