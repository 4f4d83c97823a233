package process

import (
	"fmt"
	"syscall"

	"github.com/durable-delivery/durable/adapters"
)

// credential returns the uid the instances run as, and the credential that
// starts them so (nil for the runtime's own uid). Another user needs a root
// runtime, and must reach root: the images unpacked below it are what its
// instances run.
func credential(u *adapters.RunAs, uid int, root string) (int, *syscall.Credential, error) {
	if u == nil || int(u.UID) == uid {
		return uid, nil, nil
	}
	if uid != 0 {
		return 0, nil, fmt.Errorf("instances cannot run as %s (uid %d): the runtime runs as uid %d, and only root starts processes as another user; run durable as root, or run instances as its own user", u.Name, u.UID, uid)
	}
	if err := u.CheckReach(root); err != nil {
		return 0, nil, err
	}
	// An empty Groups clears the supplementary groups root would pass on.
	return int(u.UID), &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{}}, nil
}

// ours reports whether a process of uid is this runtime's to signal: of
// its own user, or of the user its instances run as. One of the runtime's
// own user is an instance started before the operator changed --run-as.
func (r *Runtime) ours(uid int) bool { return uid == r.uid || uid == r.runAs }
