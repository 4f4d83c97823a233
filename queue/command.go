package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/durable-delivery/durable/source"
)

// Command is one operator-defined check: a shell command line run on the
// host, in a copy of the candidate's tree, within Timeout. It passes when
// it exits 0. It learns what it checks from DURABLE_QUEUE_BRANCH and
// DURABLE_QUEUE_COMMIT.
type Command struct {
	Line    string
	Timeout time.Duration
}

// maxCommandOutput is how much of a failing check's output the
// ejection keeps (its end).
const maxCommandOutput = 2048

// ParseCommand checks a --check value.
func ParseCommand(line string, timeout time.Duration) (Command, error) {
	switch {
	case strings.TrimSpace(line) == "":
		return Command{}, errors.New("--check is empty: give a command line, e.g. --check 'make test'")
	case len(line) > 4096:
		return Command{}, fmt.Errorf("--check is %d bytes long; a command line is at most 4096", len(line))
	case strings.ContainsAny(line, "\x00\n\r"):
		return Command{}, errors.New("--check holds a NUL or a line break: give one command line")
	case timeout < time.Second || timeout > time.Hour:
		return Command{}, fmt.Errorf("--check-timeout %s: use 1s to 1h", timeout)
	}
	return Command{Line: line, Timeout: timeout}, nil
}

// commands runs the operator's checks in order; the first that fails
// ejects, with the end of its output.
func (ck Checker) commands(ctx context.Context, snap source.Snapshot, p Proposal, commit string) verdict {
	if len(ck.Checks) == 0 {
		return verdict{}
	}
	dir, err := os.MkdirTemp("", "durable-queue-check-")
	if err != nil {
		return fail(ReasonCheck, "make a directory for the checks: "+err.Error())
	}
	defer os.RemoveAll(dir)
	if err := os.CopyFS(dir, snap.Files); err != nil {
		return fail(ReasonCheck, "copy the candidate's tree for the checks: "+err.Error())
	}
	for _, c := range ck.Checks {
		if v := c.run(ctx, dir, p, commit); v.failed() {
			return v
		}
	}
	return verdict{}
}

func (c Command) run(ctx context.Context, dir string, p Proposal, commit string) verdict {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", c.Line)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DURABLE_QUEUE_BRANCH="+p.Branch, "DURABLE_QUEUE_COMMIT="+commit)
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return fail(ReasonCheck, fmt.Sprintf("check %q ran over its %s timeout", c.Line, c.Timeout))
	case err != nil:
		tail := out.Bytes()[max(0, out.Len()-maxCommandOutput):]
		return fail(ReasonCheck, fmt.Sprintf("check %q: %v", c.Line, err), strings.TrimSpace(string(tail)))
	}
	return verdict{}
}
