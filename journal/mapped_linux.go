package journal

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// dropMapping drops this process's mapping of the size bytes of the shared
// file map at data; the pages stay in the page cache.
func dropMapping(data uintptr, size int64) error {
	if data == 0 || size <= 0 {
		return nil
	}
	if _, _, errno := syscall.Syscall(unix.SYS_MADVISE, data, uintptr(size), unix.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}
