package journal

import (
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// mappedEvery is how often, at most, the journal gives back the file pages
// its writes made this process map. A release is a read transaction and one
// madvise call over the map (tens of microseconds where little is mapped),
// against a write's fsync of milliseconds.
const mappedEvery = 200 * time.Millisecond

// mappedPages keeps the journal's mapped file pages from counting as this
// process's memory. bbolt reads the file through a shared, read-only memory
// map and writes copy-on-write: each commit writes new pages and the next
// one reads them through the map, so over a few hours every page of the
// file has been mapped once and stays counted in the process's RSS (at
// 10,000 services, the 250 MB file was a third of the reconciler's RSS).
// They are clean page cache: dropping the mapping of them (madvise
// MADV_DONTNEED) loses nothing, and a later read maps them again from the
// page cache. It is done inside a read transaction, during which bbolt
// cannot remap the file.
type mappedPages struct {
	last atomic.Int64 // unix nanoseconds of the last release
}

// wrote is called after each write: at most every mappedEvery, it releases
// the pages. A failure only leaves them mapped.
func (m *mappedPages) wrote(db *bolt.DB) {
	now := time.Now().UnixNano()
	last := m.last.Load()
	if now-last < int64(mappedEvery) || !m.last.CompareAndSwap(last, now) {
		return
	}
	_ = releaseMapping(db)
}

// releaseMapping drops the process's mapping of the whole file.
func releaseMapping(db *bolt.DB) error {
	return db.View(func(tx *bolt.Tx) error {
		return dropMapping(db.Info().Data, tx.Size())
	})
}
