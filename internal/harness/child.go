// Package harness drives Durable from the outside, as a user would: the
// durable binary's router and reconciler as their own processes, a real Git
// repository of desired state, signed artifacts and the trust that accepts
// them, a steady load through the routers, and a story that watches the
// reconciler's status until each phase of a rollout converges.
//
// It is shared by the demo (`durable demo`) and the end-to-end tests
// (test/e2e). It never reaches into the reconciler's internals: it reads only
// what the API, the routers and the logs show. The reconciler, the server and
// the CLI's other commands must never import it.
package harness

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/durable-delivery/durable/internal/listener"
)

// Child is a process the harness runs as a user would: a durable
// sub-command (the router, the reconciler) or a dependency (HAProxy,
// Prometheus), with its output in a log file.
type Child struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// StartChild runs `exe args…` with its output in logPath. The child has its
// own session so that a terminal's Ctrl-C reaches the caller alone, which
// then stops its children in order.
func StartChild(name, exe, logPath string, args ...string) (*Child, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &Child{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(c.done)
	}()
	return c, nil
}

// Stop asks the child to exit and kills it if it does not within grace.
func (c *Child) Stop(grace time.Duration) {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// Kill ends the child with SIGKILL, giving it no chance to clean up, and
// waits until it is gone.
func (c *Child) Kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// waitHealthy polls url until it answers 200, the child exits, or ctx ends.
func (c *Child) waitHealthy(ctx context.Context, client *http.Client, url string) error {
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.done:
			return fmt.Errorf("%s exited before it was ready; see %s", c.name, c.log)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w; see %s", c.name, ctx.Err(), c.log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Lines the children log once they listen, naming the addresses they bound:
// a child given port 0 picks its own, so that no other process can take a
// port between the moment it is chosen and the moment it is bound.
var (
	routerListening     = regexp.MustCompile(`router listening on (\S+), admin API on (\S+)`)
	reconcilerListening = regexp.MustCompile(`reconciler running.*api=http://(\S+)`)
)

// WaitListening waits until the child's log has a line matching re, and
// returns the line's submatches: the addresses the child bound.
func (c *Child) WaitListening(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	for {
		b, err := os.ReadFile(c.log)
		if err != nil {
			return nil, err
		}
		if m := re.FindStringSubmatch(string(b)); m != nil {
			return m[1:], nil
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("%s exited before it listened; see %s", c.name, c.log)
		case <-ctx.Done():
			return nil, fmt.Errorf("%s not listening: %w; see %s", c.name, ctx.Err(), c.log)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// StartRouter runs `durable router` on a traffic port of its choosing and
// its admin API on a Unix socket beside logPath (the default, secure
// setting), with its splits kept in stateFile ("" for none), and returns it
// with its traffic address and admin address (unix:///PATH) once it is
// healthy.
func StartRouter(ctx context.Context, name, exe, logPath, stateFile string) (*Child, string, string, error) {
	var flags []string
	if stateFile != "" {
		flags = []string{"--state", stateFile}
	}
	return StartRouterFlags(ctx, name, exe, logPath, flags...)
}

// StartRouterFlags is StartRouter with more flags for durable router
// (--state FILE, --metrics-listen ADDR, …).
func StartRouterFlags(ctx context.Context, name, exe, logPath string, flags ...string) (*Child, string, string, error) {
	sock, err := socketPath(logPath, name)
	if err != nil {
		return nil, "", "", err
	}
	args := []string{"router", "--listen", "127.0.0.1:0", "--admin", "unix://" + sock}
	c, err := StartChild(name, exe, logPath, append(args, flags...)...)
	if err != nil {
		return nil, "", "", err
	}
	addrs, err := c.WaitListening(ctx, routerListening)
	if err == nil {
		var admin *listener.Client
		if admin, err = listener.NewClient(listener.ClientConfig{Address: addrs[1], Timeout: time.Second}); err == nil {
			err = c.waitHealthy(ctx, admin.HTTP, admin.Base+"/healthz")
		}
	}
	if err != nil {
		c.Stop(5 * time.Second)
		return nil, "", "", err
	}
	return c, addrs[0], addrs[1], nil
}

// socketPath is where a router's admin socket goes: beside its log, or in
// a fresh directory under the system's temporary one when that path is
// too long for a Unix socket (108 bytes).
func socketPath(logPath, name string) (string, error) {
	p := filepath.Join(filepath.Dir(logPath), name+".sock")
	if abs, err := filepath.Abs(p); err == nil && len(abs) < 100 {
		return abs, nil
	}
	dir, err := os.MkdirTemp("", "durable-sock-")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name+".sock"), nil
}

// StartReconciler runs `durable run` with the given flags (--listen among
// them: port 0 lets it pick its API port) and returns it with its API address
// once it is healthy.
func StartReconciler(ctx context.Context, exe, logPath string, flags ...string) (*Child, string, error) {
	c, err := StartChild("reconciler", exe, logPath, append([]string{"run"}, flags...)...)
	if err != nil {
		return nil, "", err
	}
	addrs, err := c.WaitListening(ctx, reconcilerListening)
	if err == nil {
		err = c.waitHealthy(ctx, &http.Client{Timeout: time.Second}, "http://"+addrs[0]+"/healthz")
	}
	if err != nil {
		c.Stop(10 * time.Second)
		return nil, "", err
	}
	return c, addrs[0], nil
}
