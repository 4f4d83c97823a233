package haproxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// maxAnswer caps what one runtime API command may print.
const maxAnswer = 16 << 20

// commandTimeout bounds one runtime API command, from the connection to
// the end of the answer, when the caller's deadline is later or absent: a
// socket that accepts and never answers fails the command then. A
// variable so that tests can shorten it.
var commandTimeout = 10 * time.Second

// notAnswering is what a failed command tells the operator.
const notAnswering = "haproxy is unreachable or not answering (check that it runs with \"stats socket\" at this path, level admin)"

// command runs one command on the runtime API socket and returns its answer.
// The API answers errors in plain text; known ones become typed errors.
func (c *Client) command(ctx context.Context, cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return "", fmt.Errorf("haproxy runtime API %s: %s: %w: %w", c.socket, notAnswering, adapters.ErrUnavailable, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	// A caller that gives up before its deadline ends the command too.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", fmt.Errorf("haproxy runtime API %s: %q: %s: %w: %w", c.socket, cmd, notAnswering, adapters.ErrUnavailable, err)
	}
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(conn), maxAnswer))
	if err != nil {
		return "", fmt.Errorf("haproxy runtime API %s: %q: %s: %w: %w", c.socket, cmd, notAnswering, adapters.ErrUnavailable, err)
	}
	answer := strings.TrimSpace(string(b))
	switch {
	case strings.HasPrefix(answer, "Can't find backend"), strings.HasPrefix(answer, "No such backend"),
		strings.HasPrefix(answer, "No such server"):
		return answer, fmt.Errorf("haproxy: %q: %s: %w", cmd, answer, adapters.ErrNotFound)
	case strings.HasPrefix(answer, "Unknown command"), strings.Contains(answer, "Permission denied"),
		strings.HasPrefix(answer, "Require "), strings.Contains(answer, "invalid"), strings.Contains(answer, "Invalid"):
		return answer, fmt.Errorf("haproxy: %q: %s: %w", cmd, answer, adapters.ErrInvalid)
	}
	return answer, nil
}
