package journal

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/durable-delivery/durable/api"
	bolt "go.etcd.io/bbolt"
)

// TestFailedWritesAndReadsLeaveTheCacheTrue: a put that fails (its context
// ended) is not cached; a first list that fails (a record that does not
// decode) caches nothing, so that the list once the record is mended is
// the file's; a read of entries that fails says so instead of listing none.
func TestFailedWritesAndReadsLeaveTheCacheTrue(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	b, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	kept := InfraSet{ID: "web-1", Service: "web", State: api.SetServing}
	if err := b.PutInfraSet(ctx, kept); err != nil {
		t.Fatal(err)
	}
	mustSets(t, b) // loaded: the next put goes through the cache
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.PutInfraSet(canceled, InfraSet{ID: "web-2", Service: "web", State: api.SetServing}); err == nil {
		t.Fatal("a put with its context ended succeeded")
	}
	if got, want := mustSets(t, b), fileSets(t, b); !reflect.DeepEqual(got, want) || len(got) != 1 {
		t.Fatalf("after a failed put the cache lists %+v, the file %+v", got, want)
	}
	if _, err := b.Entries(canceled, 0, 0); err == nil {
		t.Fatal("reading entries with its context ended listed none, without an error")
	}

	// A record that does not decode fails the first list, and is not
	// cached as an empty bucket.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err = OpenBolt(path, BoltOptions{}); err != nil {
		t.Fatal(err)
	}
	put := func(data string) {
		t.Helper()
		if err := b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketInfraSets).Put([]byte("web-3"), []byte(data)) }); err != nil {
			t.Fatal(err)
		}
	}
	put(`{"id": "web-3", "state": [`)
	if _, err := b.InfraSets(ctx); err == nil {
		t.Fatal("a record that does not decode was listed without an error")
	}
	put(`{"id": "web-3", "service": "web", "state": "warm"}`)
	if got := mustSets(t, b); len(got) != 2 {
		t.Fatalf("once mended, the infra-sets listed are %+v; want web-1 and web-3", got)
	}
}
