package hostconfig

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/durable-delivery/durable/internal/hostfile"
)

// nameRE is the repository's #Name: what a target may refer to.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func validName(s string) bool { return nameRE.MatchString(s) }

// hint says how to write a field.
func hint(field string) string {
	switch field {
	case "host":
		return `write the engine's address, "unix:///var/run/docker.sock" or "tcp://HOST:PORT"`
	case "socket":
		return `write the absolute path of HAProxy's admin socket, e.g. "/run/haproxy/admin.sock"`
	case "admin":
		return `write the router's admin address, "unix:///run/durable/router-admin.sock" or "127.0.0.1:7071"`
	case "tokenFile":
		return `write the absolute path of the file holding the admin API's bearer token`
	case "timeout":
		return `write how long one call may take, e.g. "30s"`
	}
	return "see docs/operating.md, \"Host configuration\""
}

// checkExecutable accepts an absolute path to an executable regular file
// that no other local user could replace.
func checkExecutable(p string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return fmt.Errorf("%q is not an absolute, clean path; write the program's full path, e.g. \"/usr/bin/python3\"", p)
	}
	f, err := hostfile.Open(p, "plug-in executable", "run a command of theirs as the reconciler")
	if err != nil {
		var unsafe *hostfile.UnsafeError
		if errors.As(err, &unsafe) {
			return err
		}
		return fmt.Errorf("%q cannot be opened (%v); install the program there or fix the path", p, errors.Unwrap(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%q is not an executable file (mode %s); chmod +x it or name the program itself", p, fi.Mode())
	}
	return nil
}

func checkDockerHost(s string) error {
	if rest, ok := strings.CutPrefix(s, "unix://"); ok {
		return checkSocket(rest)
	}
	if rest, ok := strings.CutPrefix(s, "tcp://"); ok {
		return checkHostPort(rest)
	}
	return errors.New(`is not a Docker engine address; ` + hint("host"))
}

func checkSocket(s string) error {
	if !filepath.IsAbs(s) || filepath.Clean(s) != s {
		return errors.New("is not an absolute, clean path; " + hint("socket"))
	}
	return nil
}

func checkAdmin(s string) error {
	if rest, ok := strings.CutPrefix(s, "unix://"); ok {
		if checkSocket(rest) != nil {
			return errors.New("is not unix:// and an absolute path; " + hint("admin"))
		}
		return nil
	}
	if checkHostPort(s) != nil {
		return errors.New("is neither HOST:PORT nor unix:///PATH; " + hint("admin"))
	}
	return nil
}

func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		return errors.New("is not HOST:PORT (a port from 1 to 65535)")
	}
	return nil
}

func checkTokenFile(s string) error {
	if !filepath.IsAbs(s) || filepath.Clean(s) != s {
		return errors.New("is not an absolute, clean path; " + hint("tokenFile"))
	}
	return nil
}

func checkTimeout(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return errors.New("is not a positive Go duration; " + hint("timeout"))
	}
	return nil
}
