package queue

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// StateFile is the queue's bbolt file under its --state directory.
const StateFile = "queue.db"

// Bounds on the records the store keeps.
const (
	// MaxQueued is how many proposals may wait at once.
	MaxQueued = 1000
	// keepDone is how many landed, ejected or removed proposals are kept
	// for list and for the ref scan's memory; older ones are dropped.
	keepDone = 1000
	// lockTimeout is how long a command waits for another holding the
	// file (queue run holds it only for each short transaction).
	lockTimeout = 10 * time.Second
)

var bucket = []byte("proposals")

// ErrNotQueued is returned for a branch with no live proposal.
var ErrNotQueued = errors.New("no proposal of that branch is in the queue")

// Store keeps the proposals in a bbolt file of their own. It opens the
// file for each transaction, so that `durable queue add`, `list` and
// `remove` get in between the runner's writes.
//
// Invariant: every change of a proposal is one bbolt transaction, synced
// before it returns; a record never goes back from a terminal state.
type Store struct {
	path string
}

// OpenStore returns the store under dir, creating dir (0700) and the file
// when missing, and checks that the file is a queue's.
func OpenStore(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("no state directory: give --state DIR, where the queue keeps its state")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("queue state %s: %w", dir, err)
	}
	s := &Store{path: filepath.Join(dir, StateFile)}
	return s, s.update(func(*bolt.Bucket) error { return nil })
}

func (s *Store) open() (*bolt.DB, error) {
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: lockTimeout})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("queue state %s: still locked by another process after %s; try again", s.path, lockTimeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return nil, fmt.Errorf("queue state %s: not a queue's state file (%w); point --state to the right directory", s.path, err)
	case err != nil:
		return nil, fmt.Errorf("queue state %s: %w", s.path, err)
	}
	return db, nil
}

func (s *Store) update(fn func(*bolt.Bucket) error) error {
	db, err := s.open()
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		return fn(b)
	})
	return errors.Join(err, db.Close())
}

// List returns every proposal kept, in queue order.
func (s *Store) List() ([]Proposal, error) {
	var out []Proposal
	db, err := s.open()
	if err != nil {
		return nil, err
	}
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		out, err = all(b)
		return err
	})
	return out, errors.Join(err, db.Close())
}

func all(b *bolt.Bucket) ([]Proposal, error) {
	var out []Proposal
	err := b.ForEach(func(k, v []byte) error {
		var p Proposal
		if err := json.Unmarshal(v, &p); err != nil {
			return fmt.Errorf("proposal record %x: %w", k, err)
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// Add enqueues branch at head, unless a live proposal of the branch is
// already queued. The time added orders it.
func (s *Store) Add(branch, head string, now time.Time) (Proposal, error) {
	var p Proposal
	err := s.update(func(b *bolt.Bucket) error {
		ps, err := all(b)
		if err != nil {
			return err
		}
		if q, ok := liveOf(ps, branch); ok {
			return fmt.Errorf("%s is already in the queue as %s (%s)", branch, q, q.State)
		}
		if live := Live(ps); live >= MaxQueued {
			return fmt.Errorf("the queue holds %d proposals, the most it takes; wait for some to land", live)
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		p = Proposal{Seq: seq, Branch: branch, Head: head, Added: now.UTC(), State: Queued, Since: now.UTC()}
		if err := put(b, p); err != nil {
			return err
		}
		return prune(b, ps)
	})
	return p, err
}

// prune drops the oldest terminal records beyond keepDone.
func prune(b *bolt.Bucket, ps []Proposal) error {
	done := 0
	for _, p := range ps {
		if p.State.Terminal() {
			done++
		}
	}
	for _, p := range ps {
		if done <= keepDone {
			return nil
		}
		if p.State.Terminal() {
			if err := b.Delete(key(p.Seq)); err != nil {
				return err
			}
			done--
		}
	}
	return nil
}

// Remove takes branch's live proposal out of the queue, unless it is
// landing.
func (s *Store) Remove(branch string, now time.Time) (Proposal, error) {
	var p Proposal
	err := s.update(func(b *bolt.Bucket) error {
		ps, err := all(b)
		if err != nil {
			return err
		}
		q, ok := liveOf(ps, branch)
		switch {
		case !ok:
			return fmt.Errorf("%s: %w", branch, ErrNotQueued)
		case q.State == Landing:
			return fmt.Errorf("%s is landing on main now; it cannot be removed", q)
		}
		q.State, q.Since = Removed, now.UTC()
		p = q
		return put(b, q)
	})
	return p, err
}

// liveOf finds branch's proposal that is not done with.
func liveOf(ps []Proposal, branch string) (Proposal, bool) {
	for _, q := range ps {
		if q.Branch == branch && !q.State.Terminal() {
			return q, true
		}
	}
	return Proposal{}, false
}

// Set records p's new state, unless its record was removed or is already
// terminal meanwhile (a person removed it): then it returns the record as
// it is, and false.
func (s *Store) Set(p Proposal) (Proposal, bool, error) {
	ok := false
	err := s.update(func(b *bolt.Bucket) error {
		v := b.Get(key(p.Seq))
		if v == nil {
			return fmt.Errorf("%s: its record is gone", p)
		}
		var cur Proposal
		if err := json.Unmarshal(v, &cur); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if cur.State.Terminal() {
			p = cur
			return nil
		}
		ok = true
		return put(b, p)
	})
	return p, ok, err
}

func put(b *bolt.Bucket, p Proposal) error {
	v, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return b.Put(key(p.Seq), v)
}

func key(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }
