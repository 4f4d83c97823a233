package demo

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"time"
)

// child is a durable sub-command the demo runs as its own process, as a user
// would: the router and the reconciler.
type child struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startChild runs `exe args…` with its output in logPath. The child has its
// own session so that a terminal's Ctrl-C reaches the demo alone, which then
// stops its children in order.
func startChild(name, exe, logPath string, args ...string) (*child, error) {
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
	c := &child{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(c.done)
	}()
	return c, nil
}

// stop asks the child to exit and kills it if it does not within grace.
func (c *child) stop(grace time.Duration) {
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

// waitHealthy polls url until it answers 200, the child exits, or ctx ends.
func (c *child) waitHealthy(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
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

// waitListening waits until the child's log has a line matching re, and
// returns the line's submatches: the addresses the child bound.
func (c *child) waitListening(ctx context.Context, re *regexp.Regexp) ([]string, error) {
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

// startRouterChild runs `durable router` on ports of its choosing, with its
// splits kept in stateFile ("" for none), and returns it with its traffic and
// admin addresses once it is healthy.
func startRouterChild(ctx context.Context, name, exe, logPath, stateFile string) (*child, string, string, error) {
	args := []string{"router", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"}
	if stateFile != "" {
		args = append(args, "--state", stateFile)
	}
	c, err := startChild(name, exe, logPath, args...)
	if err != nil {
		return nil, "", "", err
	}
	addrs, err := c.waitListening(ctx, routerListening)
	if err == nil {
		err = c.waitHealthy(ctx, "http://"+addrs[1]+"/healthz")
	}
	if err != nil {
		c.stop(5 * time.Second)
		return nil, "", "", err
	}
	return c, addrs[0], addrs[1], nil
}

// freeAddr returns a 127.0.0.1 address with a port free at the time of the
// call, for a child process to listen on.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
