package listener

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/durable-delivery/durable/internal/hostfile"
)

// socketMode lets the owner and the group the operator names connect, and
// nobody else: connecting to a Unix socket needs write permission on it.
const socketMode = 0o660

// listenUnix binds a Unix socket at path, in a directory no other user may
// write (so none can replace the socket), with mode 0660 and group group
// (a name or a number; the process's own group when empty).
func listenUnix(flag, path, group string) (net.Listener, error) {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		return nil, fmt.Errorf("%s unix://%s: the socket path must be absolute and clean, e.g. unix:///run/durable/api.sock", flag, path)
	}
	gid := -1
	if group != "" {
		g, err := lookupGroup(group)
		if err != nil {
			return nil, fmt.Errorf("--socket-group %.64q: %v; name a group of this host (getent group)", group, err)
		}
		gid = g
	}
	dir := filepath.Dir(path)
	d, err := hostfile.Open(dir, "socket directory", "replace the API's socket with their own")
	if err != nil {
		return nil, fmt.Errorf("%s unix://%s: %w (create it: install -d -m 0750 %s)", flag, path, err, dir)
	}
	d.Close()
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s unix://%s: a file that is not a socket is there: remove it or choose another path", flag, path)
		}
		// A socket left by a process that died: nothing answers on it.
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s unix://%s: another process listens on it: stop it or choose another path", flag, path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("%s unix://%s: remove the stale socket: %w", flag, path, err)
		}
	}
	return bindPrivately(path, group, gid)
}

// bindPrivately binds the socket in a private directory beside path, sets
// its mode and group there, and only then renames it to path: no other
// user can connect in between, as they could to a socket bound in place
// before its chmod (a connection accepted then would stay open).
func bindPrivately(path, group string, gid int) (net.Listener, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".bind-")
	if err != nil {
		return nil, fmt.Errorf("unix://%s: %w", path, err)
	}
	defer os.RemoveAll(tmp)
	private := filepath.Join(tmp, "s")
	l, err := net.Listen("unix", private)
	if err != nil {
		return nil, fmt.Errorf("unix://%s: %w", path, err)
	}
	ul := l.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	err = os.Chmod(private, socketMode)
	if err == nil && gid >= 0 {
		if err = os.Chown(private, -1, gid); err != nil {
			err = fmt.Errorf("--socket-group %s: %w (the reconciler's user must be root or a member of it)", group, err)
		}
	}
	if err == nil {
		err = os.Rename(private, path)
	}
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("unix://%s: %w", path, err)
	}
	return &unixListener{UnixListener: ul, path: path}, nil
}

// unixListener removes its socket when it is closed.
type unixListener struct {
	*net.UnixListener
	path string
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	os.Remove(l.path)
	return err
}

// Addr is the socket's path, where clients connect.
func (l *unixListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

func lookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		if g, err = user.LookupGroupId(name); err != nil {
			return 0, fmt.Errorf("no such group")
		}
	}
	return strconv.Atoi(g.Gid)
}
