//go:build !linux

package journal

// dropMapping does nothing where madvise is not known to be safe on a
// shared file map.
func dropMapping(data uintptr, size int64) error { return nil }
