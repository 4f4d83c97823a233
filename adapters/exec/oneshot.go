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
)

// oneShot runs the executable once for each call: a JSON request on its
// standard input, a JSON response on its standard output.
type oneShot struct {
	command []string
	timeout time.Duration
}

func (c oneShot) call(ctx context.Context, req request, out any) error {
	req.Version = ProtocolVersion
	in, err := json.Marshal(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.command[0], c.command[1:]...)
	cmd.Stdin = bytes.NewReader(in)
	// An executable printing past the cap is stopped at once, not left
	// to run until the timeout.
	stdout, stderr := &capped{max: MaxOutput, over: cancel}, &capped{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// The executable and whatever it starts form one group, killed whole
	// when the call times out.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	runErr := cmd.Run()
	where := fmt.Sprintf("exec adapter %s %s", c.command[0], req.Op)
	switch {
	case stdout.overflowed:
		return fmt.Errorf("%s: printed more than %d bytes: %w", where, MaxOutput, adapters.ErrUnavailable)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: no answer within %s: %w", where, c.timeout, adapters.ErrUnavailable)
	}
	var resp response
	if err := decodeStrict(stdout.buf.Bytes(), &resp); err != nil {
		detail := strings.TrimSpace(stderr.buf.String())
		if runErr != nil {
			return fmt.Errorf("%s: %v: %s: %w", where, runErr, detail, adapters.ErrUnavailable)
		}
		return fmt.Errorf("%s: the answer is not a response ({\"result\": …} or {\"error\": {\"kind\", \"message\"}}): %v: %w", where, err, adapters.ErrUnavailable)
	}
	if runErr != nil && resp.Error == nil {
		return fmt.Errorf("%s: %v: %w", where, runErr, adapters.ErrUnavailable)
	}
	return resp.into(where, out)
}

// Close does nothing: no process outlives its call.
func (oneShot) Close() error { return nil }

// capped keeps at most max bytes and remembers whether more came, calling
// over (if set) when it first does.
type capped struct {
	max        int
	buf        bytes.Buffer
	overflowed bool
	over       func()
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); len(p) > room {
		c.buf.Write(p[:max(room, 0)])
		if !c.overflowed && c.over != nil {
			c.over()
		}
		c.overflowed = true
		return len(p), nil
	}
	return c.buf.Write(p)
}

var _ io.Writer = (*capped)(nil)
