package process

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
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

// signallable returns whether a process of set owned by a uid is this
// runtime's to stop: of its own user, of the user its instances run as, or
// of a user the set's records say an instance was started as (before the
// operator changed the user). Another user's processes are never signalled.
func (r *Runtime) signallable(set string) func(uid int) bool {
	uids := map[int]bool{r.uid: true, r.runAs: true}
	dir := r.setDir(set)
	names, _ := filepath.Glob(filepath.Join(dir, "instance-*.json"))
	for _, name := range names {
		index, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(name), "instance-"), ".json"))
		if err != nil {
			continue
		}
		if rec, err := readRecord(dir, index, r.uid); err == nil {
			uids[rec.UID] = true
		}
	}
	return func(uid int) bool { return uids[uid] }
}
