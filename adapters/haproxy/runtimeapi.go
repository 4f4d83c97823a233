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

// command runs one command on the runtime API socket and returns its answer.
// The API answers errors in plain text; known ones become typed errors.
func (c *Client) command(ctx context.Context, cmd string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return "", fmt.Errorf("haproxy runtime API %s: %w: %w", c.socket, adapters.ErrUnavailable, err)
	}
	defer conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", fmt.Errorf("haproxy runtime API %s: %q: %w: %w", c.socket, cmd, adapters.ErrUnavailable, err)
	}
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(conn), maxAnswer))
	if err != nil {
		return "", fmt.Errorf("haproxy runtime API %s: %q: %w: %w", c.socket, cmd, adapters.ErrUnavailable, err)
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
