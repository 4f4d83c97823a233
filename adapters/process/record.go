package process

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// record is what the runtime writes, when it starts an instance, for
// recognising that process later: a process carrying the instance's markers
// is adopted only if it is this one. It lives in the set's directory on the
// host (instance-N.json), a file only the runtime's user can write.
type record struct {
	PID     int    `json:"pid"`
	UID     int    `json:"uid"`
	Started uint64 `json:"started"` // clock ticks after boot, from /proc/PID/stat
	// Exe is the program the kernel ran: the image's, or the host
	// interpreter named by its #! line.
	Exe string `json:"exe"`
	// Rootfs is the set's unpacked image: an instance may exec any program
	// within it (a wrapper script's exec, say).
	Rootfs string `json:"rootfs"`
	Port   int    `json:"port"`
}

func recordPath(setDir string, index int) string {
	return filepath.Join(setDir, fmt.Sprintf("instance-%d.json", index))
}

// writeRecord writes rec for instance index in setDir atomically (a
// temporary file renamed over the old record), mode 0600.
func writeRecord(setDir string, index int, rec record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("instance %d record: %w", index, err)
	}
	tmp, err := os.CreateTemp(setDir, fmt.Sprintf(".instance-%d-*.json", index))
	if err != nil {
		return fmt.Errorf("instance %d record: %w", index, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	_, werr := tmp.Write(b)
	if werr == nil {
		werr = tmp.Chmod(0o600)
	}
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), recordPath(setDir, index))
	}
	if werr != nil {
		return fmt.Errorf("instance %d record: %w", index, werr)
	}
	return nil
}

// readRecord reads the record of instance index in setDir, refusing one the
// runtime's user (uid) did not write alone: a directory or file of another
// owner, or writable by others.
func readRecord(setDir string, index int, uid int) (record, error) {
	if err := checkPrivateDir(setDir, uid); err != nil {
		return record{}, err
	}
	p := recordPath(setDir, index)
	fi, err := os.Lstat(p)
	if err != nil {
		return record{}, fmt.Errorf("no record of instance %d: %w", index, err)
	}
	if err := checkOwned(p, fi, uid); err != nil {
		return record{}, err
	}
	if !fi.Mode().IsRegular() {
		return record{}, fmt.Errorf("record %s is not a regular file", p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return record{}, fmt.Errorf("record of instance %d: %w", index, err)
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return record{}, fmt.Errorf("record %s: %w", p, err)
	}
	return rec, nil
}

// checkPrivateDir refuses dir unless it is a directory (not a symlink)
// owned by uid that no other user can write.
func checkPrivateDir(dir string, uid int) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory (%s)", dir, fi.Mode().Type())
	}
	return checkOwned(dir, fi, uid)
}

// checkOwned refuses a file that is not owned by uid or is writable by its
// group or others.
func checkOwned(path string, fi fs.FileInfo, uid int) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no owner information", path)
	}
	if int(st.Uid) != uid {
		return fmt.Errorf("%s is owned by uid %d, not by the runtime's uid %d", path, st.Uid, uid)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by other users (mode %s): make it 0755 or 0700", path, fi.Mode().Perm())
	}
	return nil
}

// mkPrivateDir creates dir with perm if it is missing, and checks it with
// checkPrivateDir.
func mkPrivateDir(dir string, perm fs.FileMode, uid int) error {
	if err := os.Mkdir(dir, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("directory %s: %w", dir, err)
	}
	return checkPrivateDir(dir, uid)
}

// verify checks the marked process p against the record of its instance: it
// must be the recorded process (pid and start time), owned by the recorded
// uid, which is the uid instances run as now, running the recorded program or one within the set's unpacked image,
// on the recorded port. The error says what differs.
func (r *Runtime) verify(p proc) error {
	rec, err := readRecord(r.setDir(p.set), p.index, r.uid)
	if err != nil {
		return err
	}
	switch {
	case p.uid != r.runAs:
		return fmt.Errorf("pid %d runs as uid %d, and this runtime's instances run as uid %d", p.pid, p.uid, r.runAs)
	case p.uid != rec.UID:
		return fmt.Errorf("pid %d runs as uid %d, the instance was started as uid %d", p.pid, p.uid, rec.UID)
	case p.pid != rec.PID:
		return fmt.Errorf("pid %d is not the recorded pid %d", p.pid, rec.PID)
	case p.started != rec.Started:
		return fmt.Errorf("pid %d started at tick %d, the recorded instance at tick %d (a reused pid)", p.pid, p.started, rec.Started)
	case p.port != rec.Port:
		return fmt.Errorf("pid %d claims port %d, the instance was given port %d", p.pid, p.port, rec.Port)
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(p.pid) + "/exe")
	if err != nil {
		return fmt.Errorf("pid %d: executable: %w", p.pid, err)
	}
	if exe != rec.Exe && !within(rec.Rootfs, exe) {
		return fmt.Errorf("pid %d runs %s, neither the instance's program %s nor within its image %s", p.pid, exe, rec.Exe, rec.Rootfs)
	}
	return nil
}

// within reports whether path lies under dir.
func within(dir, path string) bool {
	return dir != "" && strings.HasPrefix(path, dir+string(filepath.Separator))
}

// readOwner returns the uid pid runs as, from the Uid line of
// /proc/PID/status, or -1 when its real, effective, saved and filesystem
// uids differ (a process that changed identity is no one's instance).
func readOwner(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Uid:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 4 {
			return 0, false
		}
		uid, err := strconv.Atoi(f[0])
		if err != nil {
			return 0, false
		}
		for _, o := range f[1:] {
			if o != f[0] {
				return -1, true
			}
		}
		return uid, true
	}
	return 0, false
}

// kernelExe is the program the kernel runs for prog: prog itself, or the
// interpreter its #! line names, with symlinks resolved as /proc/PID/exe
// shows them.
func kernelExe(prog string) (string, error) {
	f, err := os.Open(prog)
	if err != nil {
		return "", fmt.Errorf("program: %w", err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	interp, ok := strings.CutPrefix(line, "#!")
	if !ok {
		return prog, nil
	}
	fields := strings.Fields(interp)
	if len(fields) == 0 {
		return "", fmt.Errorf("program %s: an empty #! line", prog)
	}
	exe, err := filepath.EvalSymlinks(fields[0])
	if err != nil {
		return "", fmt.Errorf("program %s: interpreter: %w", prog, err)
	}
	return exe, nil
}
