package hostfile

import (
	"fmt"
	"os"
)

// OpenSecret opens a file that holds a secret of the host (an age
// identity, a private key) as Open does, and also refuses one whose mode
// gives group or others any access, as ssh refuses a loose private key:
// exposes says what another local user could do with what they read
// ("decrypt every SOPS secret"), risk what they could do by writing it.
// The loose mode is reported first, its fix (chmod 600) also being the
// fix for a file others may write.
func OpenSecret(name, what, risk, exposes string) (*os.File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().Perm()&0o077 != 0 {
		err = &UnsafeError{Path: name, Message: fmt.Sprintf("%s %s is open to group or others (mode %04o; a secret must be readable by its owner alone): any local user could %s; chmod 600 %s",
			what, name, fi.Mode().Perm(), exposes, name)}
	}
	if err == nil {
		err = check(name, fi, what, risk, false)
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
