package source

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"strings"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"

	"github.com/durable-delivery/durable/internal/hostfile"
)

// maxKnownHostsBytes caps a known hosts file.
const maxKnownHostsBytes = 4 << 20

// readKnownHosts reads the known hosts file through hostfile: one another
// user could write would let them make the reconciler trust an impostor.
func readKnownHosts(u *url.URL, file string) (*knownhosts.HostKeyDB, error) {
	f, err := hostfile.Open(file, "known hosts file", "make the reconciler trust an impostor server")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("known hosts file %s does not exist: %s", file, keyscanFix(u, file))
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() > maxKnownHostsBytes || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("known hosts file %s is not a regular file of at most %d bytes; check the path", file, maxKnownHostsBytes)
	}
	// knownhosts reads files by name: give it the file already opened and
	// checked, which a rename or a symlink swap cannot change.
	fdPath := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	db, err := knownhosts.NewDB(fdPath)
	if err != nil {
		return nil, fmt.Errorf("known hosts file %s: %s; fix or remove the line", file, strings.ReplaceAll(err.Error(), fdPath, file))
	}
	return db, nil
}

// checkHostKey wraps the known hosts callback so that a refusal names the
// host, the file and the fix.
func checkHostKey(u *url.URL, file string, check ssh.HostKeyCallback) ssh.HostKeyCallback {
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := check(host, remote, key)
		switch {
		case err == nil:
			return nil
		case knownhosts.IsHostKeyChanged(err):
			return fmt.Errorf("the %s key of ssh server %s (%s) does not match its key in known hosts file %s: someone may be impersonating it; if its administrator confirms the key changed, replace the line (ssh-keygen -R '%s' -f %s), then %s",
				key.Type(), host, ssh.FingerprintSHA256(key), file, knownhosts.Normalize(net.JoinHostPort(u.Hostname(), sshPort(u))), file, keyscanFix(u, file))
		case knownhosts.IsHostUnknown(err):
			return fmt.Errorf("ssh server %s (%s key %s) is not in known hosts file %s: %s",
				host, key.Type(), ssh.FingerprintSHA256(key), file, keyscanFix(u, file))
		}
		return fmt.Errorf("ssh server %s, known hosts file %s: %w", host, file, err)
	}
}
