package journal

import (
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// mappedEvery is how often, at most, the journal gives back the file pages
// its reads and writes made this process map. A release is a read
// transaction and one madvise call over the map (tens of microseconds where
// little is mapped), against a write's fsync of milliseconds.
const mappedEvery = 200 * time.Millisecond

// mappedScanBytes is how many bytes of records one long read (the whole
// journal's entries) goes through before it gives back the pages it mapped:
// at 10,000 services the entries fill 150 MB of the file, all mapped at
// once by one read otherwise.
const mappedScanBytes = 16 << 20

// mappedPages keeps the journal's mapped file pages from counting as this
// process's memory. bbolt reads the file through a shared, read-only memory
// map and writes copy-on-write: each commit writes new pages and the next
// one reads them through the map, so over a few hours every page of the
// file has been mapped once and stays counted in the process's RSS (at
// 10,000 services, the 250 MB file was a third of the reconciler's RSS).
// Reads map pages too: the status reads every entry, and between writes
// (a reconciler with nothing to do) what they mapped stayed counted.
// They are clean page cache: dropping the mapping of them (madvise
// MADV_DONTNEED) loses nothing, and a later read maps them again from the
// page cache. It is done inside a read transaction, during which bbolt
// cannot remap the file.
type mappedPages struct {
	last atomic.Int64 // unix nanoseconds of the last release
}

// used is called after each read and write transaction: at most every
// mappedEvery, it releases the pages. A failure only leaves them mapped.
func (m *mappedPages) used(db *bolt.DB) {
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

// mappedScan gives back, during one read transaction that goes through many
// records, the pages it mapped so far, each mappedScanBytes of records (the
// transaction keeps the map where it is, and a page read again is mapped
// again from the page cache). A failure only leaves them mapped.
type mappedScan struct {
	db    *bolt.DB
	tx    *bolt.Tx
	bytes int // read since the last release
}

// read is called with the size of each record read.
func (s *mappedScan) read(n int) {
	s.bytes += n
	if s.bytes < mappedScanBytes {
		return
	}
	s.bytes = 0
	_ = dropMapping(s.db.Info().Data, s.tx.Size())
}
