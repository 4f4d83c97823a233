// Package exec is the escape hatch: a runtime or traffic adapter implemented
// by a user's executable, for infrastructure Durable ships no adapter for
// (VMs over SSH, a cloud load balancer, a service registry).
//
// Each call runs the executable once with a JSON request on its standard
// input and reads one JSON response from its standard output, within a
// timeout and a cap on what it prints. docs/adapters.md documents the
// protocol. The package knows nothing of Git, CUE, policies or the journal.
package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/exec/settings"
)

// ProtocolVersion is sent in every request; an executable refuses a version
// it does not speak.
const ProtocolVersion = 1

// MaxOutput caps what the executable may print on standard output.
const MaxOutput = 1 << 20

// DefaultTimeout bounds one call when the configuration sets none.
const DefaultTimeout = 30 * time.Second

// request is what the executable reads on standard input.
type request struct {
	Version int             `json:"version"`
	Op      string          `json:"op"`
	Spec    *specJSON       `json:"spec,omitempty"`
	ID      string          `json:"id,omitempty"`
	Grace   string          `json:"grace,omitempty"`
	Service string          `json:"service,omitempty"`
	Set     string          `json:"set,omitempty"`
	Split   *adapters.Split `json:"split,omitempty"`
}

// specJSON is an infra-set instruction as the executable sees it.
type specJSON struct {
	ID       string            `json:"id"`
	Service  string            `json:"service"`
	Release  string            `json:"release"`
	Artifact string            `json:"artifact"`
	Args     []string          `json:"args"`
	Env      map[string]string `json:"env"`
	Port     int               `json:"port"`
	Replicas int               `json:"replicas"`
}

// response is what the executable prints on standard output: a result, or
// an error whose kind maps to the adapters' typed errors.
type response struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

var errorKinds = map[string]error{
	"invalid":     adapters.ErrInvalid,
	"not-found":   adapters.ErrNotFound,
	"conflict":    adapters.ErrConflict,
	"unavailable": adapters.ErrUnavailable,
}

// caller runs the executable for one call.
type caller struct {
	command []string
	timeout time.Duration
}

// call sends req and decodes the result into out (which may be nil).
func (c caller) call(ctx context.Context, req request, out any) error {
	req.Version = ProtocolVersion
	in, err := json.Marshal(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.command[0], c.command[1:]...)
	cmd.Stdin = bytes.NewReader(in)
	stdout, stderr := &capped{max: MaxOutput}, &capped{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// The executable and whatever it starts form one group, killed whole
	// when the call times out.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	runErr := cmd.Run()
	where := fmt.Sprintf("exec adapter %s %s", c.command[0], req.Op)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: no answer within %s: %w", where, c.timeout, adapters.ErrUnavailable)
	case stdout.over:
		return fmt.Errorf("%s: printed more than %d bytes: %w", where, MaxOutput, adapters.ErrUnavailable)
	}
	var resp response
	dec := json.NewDecoder(bytes.NewReader(stdout.buf.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&resp); err != nil {
		detail := strings.TrimSpace(stderr.buf.String())
		if runErr != nil {
			return fmt.Errorf("%s: %v: %s: %w", where, runErr, detail, adapters.ErrUnavailable)
		}
		return fmt.Errorf("%s: the answer is not a response ({\"result\": …} or {\"error\": {\"kind\", \"message\"}}): %v: %w", where, err, adapters.ErrUnavailable)
	}
	if resp.Error != nil {
		kind, ok := errorKinds[resp.Error.Kind]
		if !ok {
			kind = adapters.ErrUnavailable
		}
		return fmt.Errorf("%s: %s: %w", where, resp.Error.Message, kind)
	}
	if runErr != nil {
		return fmt.Errorf("%s: %v: %w", where, runErr, adapters.ErrUnavailable)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Result, out); err != nil {
		return fmt.Errorf("%s: result: %v: %w", where, err, adapters.ErrUnavailable)
	}
	return nil
}

// capped keeps at most max bytes and remembers whether more came.
type capped struct {
	max  int
	buf  bytes.Buffer
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); len(p) > room {
		c.buf.Write(p[:max(room, 0)])
		c.over = true
		return len(p), nil
	}
	return c.buf.Write(p)
}

var _ io.Writer = (*capped)(nil)

func newCaller(raw json.RawMessage, host adapters.Host) (caller, error) {
	var cfg settings.Exec
	if err := adapters.DecodeConfig(raw, &cfg); err != nil {
		return caller{}, fmt.Errorf("exec: %w", err)
	}
	plugin, err := host.Config.Plugin(cfg.Plugin)
	if err != nil {
		return caller{}, fmt.Errorf("exec: %w: %w", err, adapters.ErrInvalid)
	}
	c := caller{command: plugin.Command, timeout: DefaultTimeout}
	if plugin.Timeout > 0 {
		c.timeout = plugin.Timeout
	}
	if cfg.Timeout != "" {
		d, err := time.ParseDuration(cfg.Timeout)
		if err != nil || d <= 0 {
			return caller{}, fmt.Errorf("exec: timeout %q is not a positive duration: %w", cfg.Timeout, adapters.ErrInvalid)
		}
		c.timeout = d
	}
	return c, nil
}
