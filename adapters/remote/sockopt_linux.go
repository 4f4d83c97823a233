package remote

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// userTimeout bounds how long data sent to an agent may stay unacknowledged
// before the kernel gives the connection up (TCP_USER_TIMEOUT): keep-alive
// probes find a silent peer only while nothing waits to be sent, so a
// request written into a link that went down would otherwise be retried
// for many minutes.
const userTimeout = 5 * time.Second

// control sets TCP_USER_TIMEOUT on a connection to an agent.
func control(_, _ string, c syscall.RawConn) error {
	var opErr error
	err := c.Control(func(fd uintptr) {
		opErr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(userTimeout.Milliseconds()))
	})
	if err != nil {
		return err
	}
	return opErr
}
