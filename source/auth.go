package source

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"

	"github.com/durable-delivery/durable/internal/hostfile"
)

// TokenUser is the user name sent with a token: GitHub documents it for
// App installation tokens and accepts any name with a personal token;
// GitLab, Gitea and Forgejo take the token as the password whatever the
// name.
const TokenUser = "x-access-token"

// Caps on the credential files: a file larger is not what it claims to be.
const (
	maxKeyBytes   = 64 << 10
	maxTokenBytes = 16 << 10
)

// Credentials name the files on this host that authenticate to a private
// repository. They are read, through internal/hostfile, before every fetch
// and push (a rotated token or key is picked up) and never shown: not in
// errors, not in logs, not on a command line.
type Credentials struct {
	// SSHKey is an unencrypted private key (OpenSSH or PEM) for an ssh://
	// URL; group and others must have no access to it, as ssh requires.
	SSHKey string
	// KnownHosts is the known_hosts file that must hold the ssh server's
	// key; empty means ~/.ssh/known_hosts of the reconciler's user.
	KnownHosts string
	// TokenFile holds an access token, alone on one line, sent as the
	// password of HTTP basic authentication (user TokenUser) to an
	// https:// URL (or http:// on loopback).
	TokenFile string
}

// checkCredentials refuses credentials that do not fit u's scheme and fills
// in the default known hosts file of an ssh:// URL.
func checkCredentials(u *url.URL, c *Credentials) error {
	if c.TokenFile != "" && u.Scheme != "https" && (u.Scheme != "http" || !isLoopback(u.Hostname())) {
		return fmt.Errorf("a token file is given for %s, where the token would travel in clear or make no sense; use an https:// URL", u.Redacted())
	}
	if _, ok := u.User.Password(); ok && c.TokenFile != "" {
		return fmt.Errorf("source URL %s holds a password and a token file is given too: remove the password from the URL", u.Redacted())
	}
	if u.Scheme != "ssh" {
		if c.SSHKey != "" || c.KnownHosts != "" {
			return fmt.Errorf("an ssh key or known hosts file is given for %s, which is not an ssh:// URL", u.Redacted())
		}
		return nil
	}
	if c.SSHKey == "" {
		return fmt.Errorf("source URL %s needs an ssh private key: give one (durable run --git-ssh-key FILE), readable by the reconciler's user alone, and allowed to read the repository only", u.Redacted())
	}
	if c.KnownHosts != "" {
		return nil
	}
	home, err := homeDir()
	if err != nil {
		return fmt.Errorf("source URL %s: no known hosts file given and no home directory to find ~/.ssh/known_hosts in (%v); give one (durable run --git-known-hosts FILE)", u.Redacted(), err)
	}
	c.KnownHosts = filepath.Join(home, ".ssh", "known_hosts")
	if _, err := os.Stat(c.KnownHosts); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("source URL %s: no known hosts file given and %s does not exist: %s", u.Redacted(), c.KnownHosts, keyscanFix(u, c.KnownHosts))
	}
	return nil
}

// keyscanFix says how to add u's host key to file.
func keyscanFix(u *url.URL, file string) string {
	return fmt.Sprintf("add the server's key after checking its fingerprint with the server's administrator (ssh-keyscan -p %s %s >> %s), or give another file (durable run --git-known-hosts FILE)",
		sshPort(u), u.Hostname(), file)
}

func sshPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return "22"
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// homeDir is the home directory of the reconciler's user, from the user
// database first: a service may run without $HOME. Tests replace it.
var homeDir = func() (string, error) {
	if u, err := user.LookupId(strconv.Itoa(os.Geteuid())); err == nil && u.HomeDir != "" {
		return u.HomeDir, nil
	}
	return os.UserHomeDir()
}

// authMethod reads the credentials for u afresh; nil when there are none.
func authMethod(u *url.URL, c Credentials) (transport.AuthMethod, error) {
	switch {
	case u.Scheme == "ssh":
		return sshAuth(u, c)
	case c.TokenFile != "":
		token, err := readToken(c.TokenFile)
		if err != nil {
			return nil, err
		}
		return &githttp.BasicAuth{Username: TokenUser, Password: token}, nil
	}
	return nil, nil
}

// sshAuth logs in as the URL's user (else the reconciler's, as ssh does)
// with the key, and accepts only a server whose key is in the known hosts.
func sshAuth(u *url.URL, c Credentials) (transport.AuthMethod, error) {
	login := u.User.Username()
	if login == "" {
		me, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("source URL %s names no user and the reconciler's is unknown (%v): write ssh://USER@HOST/PATH", u.Redacted(), err)
		}
		login = me.Username
	}
	signer, err := readSSHKey(c.SSHKey, "ssh key", "replace the key the reconciler fetches with")
	if err != nil {
		return nil, err
	}
	db, err := readKnownHosts(u, c.KnownHosts)
	if err != nil {
		return nil, err
	}
	hostPort := net.JoinHostPort(u.Hostname(), sshPort(u))
	return &gitssh.PublicKeys{User: login, Signer: signer, HostKeyCallbackHelper: gitssh.HostKeyCallbackHelper{
		HostKeyCallback:   checkHostKey(u, c.KnownHosts, db.HostKeyCallback()),
		HostKeyAlgorithms: db.HostKeyAlgorithms(hostPort),
	}}, nil
}

// readSSHKey parses the private key in file, what it is for named as what
// and replace saying how to replace it. Its errors never quote it.
func readSSHKey(file, what, replace string) (ssh.Signer, error) {
	data, err := hostfile.ReadSecret(file, what, replace, maxKeyBytes)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	signer, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, fmt.Errorf("%s %s is protected by a passphrase, which the unattended reconciler cannot type: give it a key of its own without one (ssh-keygen -t ed25519 -N '' -f FILE)", what, file)
	case err != nil:
		// x/crypto's parse errors name what is wrong, never the bytes.
		return nil, fmt.Errorf("%s %s is not a private key ssh can use (%v): give the private half, as ssh-keygen writes it", what, file, err)
	}
	return signer, nil
}

// readToken reads the token in file: one line of printable characters.
// Its errors never quote it.
func readToken(file string) (string, error) {
	data, err := hostfile.ReadSecret(file, "token file", "replace the token the reconciler fetches with", maxTokenBytes)
	if err != nil {
		return "", err
	}
	defer clear(data)
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("token file %s is empty: write the access token in it", file)
	}
	for _, r := range token {
		if !unicode.IsPrint(r) || r == ' ' {
			return "", fmt.Errorf("token file %s holds more than a token (a space, a second line or a control character): write the token alone on one line", file)
		}
	}
	return token, nil
}

// refused adds to err, when the server refused the credentials, which file
// it refused and what to do.
func (s *Source) refused(err error) error {
	c := s.cfg.Credentials
	switch {
	case c.SSHKey != "" && strings.Contains(err.Error(), "unable to authenticate"):
		return fmt.Errorf("%w; the server refused ssh key %s: allow its public key (ssh-keygen -y -f %s) to read the repository, e.g. as a deploy key", err, c.SSHKey, c.SSHKey)
	case c.TokenFile != "" && (errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed)):
		return fmt.Errorf("%w; the server refused the token in %s: check that it is valid and allowed to read the repository", err, c.TokenFile)
	}
	return err
}
