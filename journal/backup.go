package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Backup is a journal copy written by SaveBackup.
type Backup struct {
	File  string
	Bytes int64
	// Entries is how many entries the copy holds; LastSeq its newest.
	Entries int
	LastSeq uint64
}

// SaveBackup writes a journal copy to file atomically: copy writes it into
// a temporary file beside file (mode 0600), which is synced, opened as a
// journal and checked (Check must find nothing), and only then renamed to
// file, its directory synced. A copy that does not open or check leaves
// file as it was. file must not be the journal itself (live, of the
// running reconciler).
func SaveBackup(ctx context.Context, file string, copy func(io.Writer) (int64, error)) (Backup, error) {
	out := Backup{File: file}
	if fi, err := os.Stat(file); err == nil && !fi.Mode().IsRegular() {
		return out, fmt.Errorf("back up the journal to %s: it is a %s, not a regular file; name a file", file, strings.ToLower(fi.Mode().Type().String()))
	}
	if lockedByAnother(file) {
		return out, fmt.Errorf("back up the journal to %s: it is a journal in use (the running reconciler's, or the one being copied): replacing it would lose its writes; name another file", file)
	}
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return out, fmt.Errorf("back up the journal to %s: %w (the directory must exist and be writable)", file, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing is there
	out.Bytes, err = copy(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return out, fmt.Errorf("back up the journal to %s: %w", file, err)
	}
	if out.Entries, out.LastSeq, err = checkCopy(ctx, tmp.Name()); err != nil {
		return out, fmt.Errorf("back up the journal to %s: the copy %w; %s is unchanged", file, err, file)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return out, fmt.Errorf("back up the journal to %s: %w", file, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return out, fmt.Errorf("back up the journal to %s: sync its directory: %w", file, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return out, fmt.Errorf("back up the journal to %s: sync its directory: %w", file, err)
	}
	return out, nil
}

// lockedByAnother reports whether file is locked as a bbolt file in use
// is: an exclusive lock cannot be taken at once.
func lockedByAnother(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	// Closing f releases the lock just taken.
	return false
}

// checkCopy opens a copy read-only and checks it.
func checkCopy(ctx context.Context, path string) (int, uint64, error) {
	st, err := OpenBolt(path, BoltOptions{ReadOnly: true})
	if err != nil {
		return 0, 0, fmt.Errorf("does not open: %w", err)
	}
	defer st.Close()
	problems, err := Check(ctx, st)
	if err != nil {
		return 0, 0, fmt.Errorf("cannot be checked: %w", err)
	}
	if len(problems) > 0 {
		return 0, 0, fmt.Errorf("breaks the journal's invariants (%d problem(s), run durable journal check on the journal):\n%s", len(problems), strings.Join(problems, "\n"))
	}
	entries, err := st.Entries(ctx, 0, 0)
	if err != nil {
		return 0, 0, errors.Join(errors.New("cannot be read"), err)
	}
	var last uint64
	if len(entries) > 0 {
		last = entries[len(entries)-1].Seq
	}
	return len(entries), last, nil
}
