// Package hostfile opens the files the operator of a host trusts the
// reconciler with — the trust file and the keys it names, age identities —
// refusing one another local user could have written (DESIGN.md, "Who is
// trusted with what"), as ssh refuses a loose authorized_keys.
//
// A file is refused when it is writable by group or others, when it is
// owned by a user other than the reconciler's own user or root, or when a
// directory holding it (the one its name is in and, through a symlink, the
// one it really is in) is writable by group or others without the sticky
// bit, which would let another user replace it. Ancestors above that
// directory are not checked: the operator owns the path to it. A secret
// (OpenSecret: an ssh private key, a token) is refused as well when group or
// others may read it, as ssh refuses a private key.
package hostfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// UnsafeError says why a file is refused and how to fix it.
type UnsafeError struct {
	// Path is the file or directory at fault.
	Path string
	// Message says what is wrong with Path, what another user could do,
	// and the command that fixes it.
	Message string
}

func (e *UnsafeError) Error() string { return e.Message }

// Open opens name for reading once it is safe: what names the kind of file
// in messages ("trust file") and risk what another local user could do
// through it ("add a signing key"). The checks apply to the opened file
// itself, so a swap after them changes nothing. A refusal is an
// *UnsafeError.
func Open(name, what, risk string) (*os.File, error) {
	return open(name, what, risk, false)
}

// OpenSecret is Open for a secret: it refuses as well a file group or
// others may read (any permission bit for them, as ssh refuses a private
// key), before anything is read from it, and anything but a regular file.
func OpenSecret(name, what, risk string) (*os.File, error) {
	return open(name, what, risk, true)
}

// ReadSecret reads a secret file of at most max bytes through
// OpenSecret. A refusal is an *UnsafeError; other errors name what it is.
func ReadSecret(name, what, risk string, max int64) ([]byte, error) {
	f, err := OpenSecret(name, what, risk)
	var unsafe *UnsafeError
	if err != nil && !errors.As(err, &unsafe) {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s %s is larger than %d bytes: it is not a %s; check the path", what, name, max, what)
	}
	return data, nil
}

func open(name, what, risk string, secret bool) (*os.File, error) {
	// Non-blocking: opening a FIFO another user made must not hang.
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = check(name, fi, what, risk, false)
	}
	if err == nil && secret && !fi.Mode().IsRegular() {
		err = &UnsafeError{Path: name, Message: fmt.Sprintf("%s %s is not a regular file; check the path", what, name)}
	}
	if err == nil && secret && fi.Mode().Perm()&0o077 != 0 {
		err = &UnsafeError{Path: name, Message: fmt.Sprintf("%s %s is open to group or others (mode %04o): any local user could read it; chmod 600 %s",
			what, name, fi.Mode().Perm(), name)}
	}
	if err == nil {
		err = checkDirs(name, what, risk)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkDirs checks the directory name is in and, when name goes through a
// symlink, the one the file really is in.
func checkDirs(name, what, risk string) error {
	dirs := []string{filepath.Dir(name)}
	if real, err := filepath.EvalSymlinks(name); err == nil && filepath.Dir(real) != dirs[0] {
		dirs = append(dirs, filepath.Dir(real))
	}
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if err := check(d, fi, "the directory of "+what+" "+name, risk, true); err != nil {
			return err
		}
	}
	return nil
}

// check refuses fi (of p) when others than its owner may write it (a
// directory with the sticky bit may be shared) or when its owner is neither
// the reconciler's user nor root.
func check(p string, fi fs.FileInfo, what, risk string, dir bool) error {
	mode := fi.Mode()
	if mode.Perm()&0o022 != 0 && !(dir && mode&fs.ModeSticky != 0) {
		return &UnsafeError{Path: p, Message: fmt.Sprintf("%s %s is writable by group or others (mode %04o): any local user could %s; chmod go-w %s",
			what, p, mode.Perm(), risk, p)}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("hostfile: no owner in the file's status on this system")
	}
	if self := os.Geteuid(); int(st.Uid) != self && st.Uid != 0 {
		return &UnsafeError{Path: p, Message: fmt.Sprintf("%s %s is owned by %s, not by the reconciler's user (%s) or root: its owner could %s; chown %d %s, or run the reconciler as its owner",
			what, p, userName(int(st.Uid)), userName(self), risk, self, p)}
	}
	return nil
}

// userName says "uid 1000 (alice)", or "uid 1000" when the name is unknown.
func userName(uid int) string {
	s := "uid " + strconv.Itoa(uid)
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		s += " (" + u.Username + ")"
	}
	return s
}
