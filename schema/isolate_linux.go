package schema

import "golang.org/x/sys/unix"

// limitMemory bounds this process's address space.
func limitMemory(bytes uint64) error {
	return unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: bytes, Max: bytes})
}
