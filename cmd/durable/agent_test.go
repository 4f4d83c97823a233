package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/remote"
)

// TestAgentCommandServesOverMutualTLS: durable agent, started with
// certificates durable certs made, serves a reconciler through the remote
// adapter, and stops on SIGTERM.
func TestAgentCommandServesOverMutualTLS(t *testing.T) {
	dir := certsFleet(t)
	cmd := exec.Command(os.Args[0], "agent", "--listen", "127.0.0.1:0", "--state", t.TempDir(), "--allow", "reconciler",
		"--tls-cert", filepath.Join(dir, "a1", "a1.crt"), "--tls-key", filepath.Join(dir, "a1", "a1.key"),
		"--client-ca", filepath.Join(dir, "ca", "ca.crt"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Wait()
		t.Fatalf("no address from the agent: %v\n%s", err, stderr.String())
	}
	addr, _, ok := strings.Cut(strings.TrimPrefix(line, "agent listening on https://"), ",")
	if !ok {
		t.Fatalf("agent said %q", line)
	}
	a, err := remote.New(remote.Config{Address: addr, Host: "a1", CA: filepath.Join(dir, "ca", "ca.crt"),
		Cert: filepath.Join(dir, "reconciler", "reconciler.crt"), Key: filepath.Join(dir, "reconciler", "reconciler.key")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if sets, err := a.Runtime("process", nil).Observe(ctx); err != nil || len(sets) != 0 {
		t.Fatalf("Observe through the agent: %+v, %v", sets, err)
	}
	// The agent was given no host file: it names no router.
	if _, err := a.Traffic("router", json.RawMessage(`{"admin": "edge"}`)).Split(ctx, "web"); !errors.Is(err, adapters.ErrInvalid) {
		t.Fatalf("a router the agent's host file does not name: %v, want ErrInvalid", err)
	}
	a.CloseIdleConnections()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("agent after SIGTERM: %v\n%s", err, stderr.String())
	}
}

// TestAgentCommandRefusesToServeWithoutCredentials: no allow-list, no
// client CA, no TLS or a bind address that is none are refused at start.
func TestAgentCommandRefusesToServeWithoutCredentials(t *testing.T) {
	dir := certsFleet(t)
	tls := []string{"--tls-cert", filepath.Join(dir, "a1", "a1.crt"), "--tls-key", filepath.Join(dir, "a1", "a1.key")}
	ca := []string{"--client-ca", filepath.Join(dir, "ca", "ca.crt")}
	base := []string{"agent", "--listen", "127.0.0.1:0", "--state", t.TempDir()}
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"no --allow", append(append(slices.Clone(base), tls...), ca...), exitUsage},
		{"no --client-ca", append(append(slices.Clone(base), tls...), "--allow", "reconciler"), exitFailed},
		{"no TLS", append(append(slices.Clone(base), ca...), "--allow", "reconciler"), exitFailed},
		{"an empty --allow", append(append(slices.Clone(base), tls...), append(ca, "--allow", "")...), exitUsage},
		{"bad --bind-address", append(append(append(slices.Clone(base), tls...), ca...), "--allow", "reconciler", "--bind-address", "0.0.0.0"), exitUsage},
	} {
		var out, errOut bytes.Buffer
		if code := executeWith(tc.args, nil, &out, &errOut); code != tc.want {
			t.Errorf("%s: exit %d, want %d: %s", tc.name, code, tc.want, errOut.String())
		}
	}
}
