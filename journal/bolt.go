package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrJournalInUse is returned by OpenBolt when another process holds the
// journal file's lock, which in practice means a reconciler is running.
var ErrJournalInUse = errors.New("the journal is in use by a running reconciler; ask its API instead")

// DefaultLockTimeout is how long OpenBolt waits for the journal file's lock
// when BoltOptions.LockTimeout is zero.
const DefaultLockTimeout = time.Second

// BoltOptions tune how a bbolt journal is opened.
type BoltOptions struct {
	// ReadOnly opens the journal with a shared lock: several readers may
	// open it at once, but not while a writer holds it.
	ReadOnly bool
	// LockTimeout bounds the wait for the file lock (default 1s), so that a
	// second opener fails fast instead of hanging behind a running
	// reconciler.
	LockTimeout time.Duration
}

// Bucket names, one per record kind.
var (
	bucketRevisions = []byte("revisions")
	bucketReleases  = []byte("releases")
	bucketInfraSets = []byte("infrasets")
	bucketRollouts  = []byte("rollouts")
	bucketEntries   = []byte("entries")
	// bucketTransitions is newer than the others: a journal written before
	// it may lack it, and still reads.
	bucketTransitions = []byte("transitions")
)

var (
	// requiredBuckets are in every journal; allBuckets are made on open.
	requiredBuckets = [][]byte{bucketRevisions, bucketReleases, bucketInfraSets, bucketRollouts, bucketEntries}
	allBuckets      = append(slices.Clone(requiredBuckets), bucketTransitions)
)

// Bolt is the embedded journal: one bbolt file holding every record kind in
// its own bucket as JSON. Each write is its own transaction, committed and
// fsynced before the method returns.
type Bolt struct {
	db    *bolt.DB
	path  string
	cache recordCache
	// mapped gives back the file pages the reads and writes made this
	// process map.
	mapped mappedPages
	// puts counts the records put (under cache.mu): a compaction removes
	// records only if none was put since it read them.
	puts uint64
}

var _ Store = (*Bolt)(nil)

// OpenBolt opens (creating it unless opts.ReadOnly) the journal file at path.
// It fails with ErrJournalInUse when the file lock cannot be taken within
// opts.LockTimeout.
func OpenBolt(path string, opts BoltOptions) (*Bolt, error) {
	if path == "" {
		return nil, errors.New("open journal: no path given; pass the journal file, e.g. /var/lib/durable/journal.db")
	}
	if opts.LockTimeout < 0 {
		return nil, fmt.Errorf("open journal %s: lock timeout %s is negative; use 0 for the default (%s)", path, opts.LockTimeout, DefaultLockTimeout)
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open journal %s read-only: %w (a reconciler creates it on first start; check the path)", path, err)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open journal %s: create its directory: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  opts.LockTimeout,
		ReadOnly: opts.ReadOnly,
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open journal %s: lock not acquired within %s: %w", path, opts.LockTimeout, ErrJournalInUse)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return nil, fmt.Errorf("open journal %s: not a readable Durable journal (%w); point to the right file or move this one aside", path, err)
	case err != nil:
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	if opts.ReadOnly {
		err = db.View(func(tx *bolt.Tx) error {
			for _, name := range requiredBuckets {
				if tx.Bucket(name) == nil {
					return fmt.Errorf("bucket %q is missing: not a Durable journal, or never opened by a reconciler", name)
				}
			}
			return nil
		})
	} else {
		err = db.Update(func(tx *bolt.Tx) error {
			for _, name := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return fmt.Errorf("create bucket %q: %w", name, err)
				}
			}
			return nil
		})
	}
	if err != nil {
		// The open already failed; a close error would only hide why.
		_ = db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	return &Bolt{db: db, path: path}, nil
}

// Path is the journal file's path.
func (b *Bolt) Path() string { return b.path }

// Close releases the file and its lock.
func (b *Bolt) Close() error {
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("close journal %s: %w", b.path, err)
	}
	return nil
}

// view runs fn in a read transaction after checking ctx.
func (b *Bolt) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := b.db.View(fn)
	b.mapped.used(b.db)
	return err
}

// update runs fn in a write transaction after checking ctx. bbolt commits
// with fsync, so the write is durable when update returns nil.
func (b *Bolt) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.db.Update(fn); err != nil {
		return err
	}
	b.mapped.used(b.db)
	return nil
}
