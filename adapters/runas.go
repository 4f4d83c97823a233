package adapters

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// RunAs is the user a runtime starts instances as, which the operator of
// the host names (durable run --run-as); a nil *RunAs in Host is the
// reconciler's own user. Its groups are not kept: an instance runs with the
// user's primary group alone.
type RunAs struct {
	Name     string
	UID, GID uint32
}

// maxUserName bounds a --run-as name: Linux user names are at most 32
// characters, and a longer value is a mistake, not a user.
const maxUserName = 32

// LookupRunAs resolves a user of this host by name, or by numeric uid. The
// errors say what to give instead.
func LookupRunAs(name string) (*RunAs, error) {
	switch {
	case name == "":
		return nil, fmt.Errorf("the user is empty: name a user of this host, e.g. nobody, or leave it out to run instances as the reconciler's own user")
	case len(name) > maxUserName:
		return nil, fmt.Errorf("user %.32q… is longer than %d characters: no user of this host has such a name", name, maxUserName)
	case strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "":
		return nil, fmt.Errorf("user %q: a user name has only letters, digits, '.', '_' and '-'", name)
	}
	lookup := user.Lookup
	if _, err := strconv.ParseUint(name, 10, 32); err == nil {
		lookup = user.LookupId
	}
	u, err := lookup(name)
	if err != nil {
		return nil, fmt.Errorf("user %q: %v; name a user that getent passwd lists, or create one (useradd --system --no-create-home durable-run)", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: uid %q is not a number", name, u.Uid)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: gid %q is not a number", name, u.Gid)
	}
	return &RunAs{Name: u.Username, UID: uint32(uid), GID: uint32(gid)}, nil
}

// CheckReach refuses a directory the user cannot reach: every folder from
// / down to dir must let the user through (search permission for its owner,
// group or others, as the user stands to it), or an instance cannot run
// the program unpacked below dir.
func (u *RunAs) CheckReach(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := abs; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: no owner information", p)
		}
		bit := fi.Mode().Perm() & 0o001 // others
		switch {
		case st.Uid == u.UID:
			bit = fi.Mode().Perm() & 0o100
		case st.Gid == u.GID:
			bit = fi.Mode().Perm() & 0o010
		}
		if bit == 0 {
			return fmt.Errorf("user %s (uid %d) cannot reach %s: %s is mode %s, owned by uid %d; let it through (chmod o+x %s) or choose a directory it can reach", u.Name, u.UID, abs, p, fi.Mode().Perm(), st.Uid, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
