// Package onhost reads the secrets a service takes from the reconciler's
// host: files in the directory the operator names (--secrets-dir), opened
// through an os.Root so that no name a committer writes — "..", an
// absolute path, a symlink — reaches a file outside it, and the
// reconciler's environment variables the operator allows (--secret-env).
//
// It must never read a host file outside the secrets directory nor a
// variable the operator did not allow, and never put a value in an error.
package onhost

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"syscall"

	"github.com/durable-delivery/durable/internal/hostfile"
)

// MaxFileBytes bounds one secret file.
const MaxFileBytes = 64 << 10

// Secrets are the host's sources of secrets, as the operator configured
// them. The zero value (and nil) allows none.
type Secrets struct {
	root *os.Root // nil: no secrets directory
	env  []string // allowed names; a trailing '*' allows a prefix
}

// envPattern is an entry of --secret-env: a variable name, or a prefix of
// one ending in '*' (at least one character before it: a bare '*' would
// hand a committer every variable of the reconciler).
var envPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\*?$`)

// Open opens the operator's secrets directory dir ("" for none) and checks
// the allowed variables env. The directory is refused when another local
// user could write it or the directory it is in (internal/hostfile), since
// they could then put a secret of their own in a service.
func Open(dir string, env []string) (*Secrets, error) {
	for _, e := range env {
		if !envPattern.MatchString(e) || len(e) > 256 {
			return nil, fmt.Errorf("--secret-env %q: not a variable name; give names such as DB_PASSWORD, or a prefix such as DURABLE_SECRET_* (never all variables)", trim(e))
		}
	}
	s := &Secrets{env: env}
	if dir == "" {
		return s, nil
	}
	f, err := hostfile.Open(dir, "secrets directory", "give a service a secret of their own")
	if _, unsafe := errors.AsType[*hostfile.UnsafeError](err); unsafe {
		return nil, fmt.Errorf("--secrets-dir: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("--secrets-dir %s: %w; create it (mkdir -m 700 %s) or name the existing one", dir, errors.Unwrap(err), dir)
	}
	defer f.Close()
	checked, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("--secrets-dir %s: %w", dir, err)
	}
	if !checked.IsDir() {
		return nil, fmt.Errorf("--secrets-dir %s is not a directory; name the directory that holds the secret files", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("--secrets-dir %s: %w", dir, errors.Unwrap(err))
	}
	// The root is the directory checked, not one swapped in since.
	if fi, err := root.Stat("."); err != nil || !os.SameFile(fi, checked) {
		root.Close()
		return nil, fmt.Errorf("--secrets-dir %s changed while it was opened; start again", dir)
	}
	s.root = root
	return s, nil
}

// Close releases the secrets directory.
func (s *Secrets) Close() error {
	if s == nil || s.root == nil {
		return nil
	}
	return s.root.Close()
}

// HasDir says whether the operator named a secrets directory.
func (s *Secrets) HasDir() bool { return s != nil && s.root != nil }

// File reads the secret file name in the secrets directory, its trailing
// newlines trimmed. Errors say where it was looked for and how to fix it.
func (s *Secrets) File(name string) (string, error) {
	if msg := FileNameProblem(name); msg != "" {
		return "", errors.New(msg)
	}
	if !s.HasDir() {
		return "", fmt.Errorf("secret file %q: this reconciler has no secrets directory; put the file in a directory only its user can write and start durable run with --secrets-dir DIR", name)
	}
	where := fmt.Sprintf("secret file %s in --secrets-dir %s", name, s.root.Name())
	// Non-blocking, so that a FIFO cannot hang the reconciler; refused below.
	f, err := s.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("%s: %w; put the secret in that file", where, errors.Unwrap(err))
	case errors.Is(err, os.ErrPermission):
		return "", fmt.Errorf("%s: %w; make it readable by the reconciler's user (chown it, chmod 600)", where, errors.Unwrap(err))
	case err != nil:
		// os.Root's refusal of a symlink or name that leads out.
		return "", fmt.Errorf("%s: %w; a secret file must be inside the secrets directory, not a link out of it", where, errors.Unwrap(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("%s: %w", where, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file (%s); put the secret in a plain file", where, fi.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("%s: read: %w", where, errors.Unwrap(err))
	}
	if len(b) > MaxFileBytes {
		return "", fmt.Errorf("%s is over %d bytes; a secret file holds one value", where, MaxFileBytes)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// Env reads the reconciler's variable name, if the operator allows it.
func (s *Secrets) Env(name string) (string, error) {
	if !s.allows(name) {
		return "", fmt.Errorf("the reconciler's variable %s is not one the operator allows secrets from; start durable run with --secret-env %s", name, name)
	}
	v, ok := os.LookupEnv(name)
	if !ok {
		return "", fmt.Errorf("the reconciler has no environment variable %s; set it where durable run starts", name)
	}
	return v, nil
}

func (s *Secrets) allows(name string) bool {
	if s == nil {
		return false
	}
	for _, e := range s.env {
		if prefix, ok := strings.CutSuffix(e, "*"); ok && strings.HasPrefix(name, prefix) || e == name {
			return true
		}
	}
	return false
}

// trim shortens a hostile value for a message.
func trim(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
