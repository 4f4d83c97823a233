package journal

import (
	"context"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// WriteBackup writes a consistent copy of the whole journal file: the
// state of one read transaction, so that writes going on meanwhile are
// either all in the copy or not at all. start is called first with the
// copy's size in bytes and returns where to write it. The journal's writers
// are not held up (bbolt's readers and its one writer run side by side),
// but pages freed meanwhile are reused only once the copy is written.
func (b *Bolt) WriteBackup(ctx context.Context, start func(size int64) io.Writer) (int64, error) {
	var n int64
	err := b.view(ctx, func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(start(tx.Size()))
		return err
	})
	if err != nil {
		return n, fmt.Errorf("back up journal %s: %w", b.path, err)
	}
	return n, nil
}
