package journal

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/durable-delivery/durable/api"
)

// rssFileKiB is this process's resident file-backed memory.
func rssFileKiB(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestReleasedMappingKeepsEveryRecord: after the journal's file pages are
// read through its map (32 MB of entries), releasing the mapping gives most
// of them back, and every entry reads back the same afterwards.
func TestReleasedMappingKeepsEveryRecord(t *testing.T) {
	ctx := context.Background()
	b, err := OpenBolt(filepath.Join(t.TempDir(), "journal.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	msg := strings.Repeat("m", 256<<10)
	const n = 128
	for i := range n {
		if _, err := b.Append(ctx, Entry{Kind: api.EntryEvent, Message: strconv.Itoa(i) + msg}); err != nil {
			t.Fatal(err)
		}
	}
	before, err := b.Entries(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Entries gives back what it maps as it reads: the pages are mapped
	// here by reading every byte of the records in place.
	sum := 0
	err = b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEntries).ForEach(func(_, v []byte) error {
			for _, c := range v {
				sum += int(c)
			}
			return nil
		})
	})
	if err != nil || sum == 0 {
		t.Fatal(err)
	}
	mapped := rssFileKiB(t)
	if err := releaseMapping(b.db); err != nil {
		t.Fatal(err)
	}
	released := rssFileKiB(t)
	// The entries are 32 MiB; at least 24 of them were mapped and are not.
	if mapped-released < 24<<10 {
		t.Fatalf("RssFile %d KiB after reading the entries, %d KiB after releasing: less than 24 MiB given back", mapped, released)
	}
	after, err := b.Entries(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != n || len(before) != n {
		t.Fatalf("read %d entries before and %d after, want %d", len(before), len(after), n)
	}
	for i := range after {
		if after[i].Message != before[i].Message || after[i].Seq != before[i].Seq {
			t.Fatalf("entry %d differs after the release", i)
		}
	}
	// Writing goes on, and releases as it goes.
	b.mapped.last.Store(0)
	if _, err := b.Append(ctx, Entry{Kind: api.EntryEvent, Message: "after"}); err != nil {
		t.Fatal(err)
	}
	if b.mapped.last.Load() == 0 {
		t.Fatal("a write after mappedEvery did not release the mapping")
	}
}

// TestLongReadGivesBackWhatItMapped: reading 64 MiB of entries at once
// leaves at most about mappedScanBytes of the file mapped, the release at
// the end of a read held off; and a later read gives back the rest.
func TestLongReadGivesBackWhatItMapped(t *testing.T) {
	ctx := context.Background()
	b, err := OpenBolt(filepath.Join(t.TempDir(), "journal.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	msg := strings.Repeat("m", 256<<10)
	const n = 256
	for i := range n {
		if _, err := b.Append(ctx, Entry{Kind: api.EntryEvent, Message: strconv.Itoa(i) + msg}); err != nil {
			t.Fatal(err)
		}
	}
	if err := releaseMapping(b.db); err != nil {
		t.Fatal(err)
	}
	before := rssFileKiB(t)
	b.mapped.last.Store(time.Now().Add(time.Hour).UnixNano()) // no release after the read
	entries, err := b.Entries(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	after := rssFileKiB(t)
	if len(entries) != n {
		t.Fatalf("read %d entries, want %d", len(entries), n)
	}
	for i, e := range entries {
		if !strings.HasPrefix(e.Message, strconv.Itoa(i)+"m") || len(e.Message) != len(strconv.Itoa(i))+len(msg) {
			t.Fatalf("entry %d reads back different", i)
		}
	}
	if grown := after - before; grown > (mappedScanBytes+8<<20)>>10 {
		t.Fatalf("RssFile grew by %d KiB over a read of %d MiB: more than mappedScanBytes stayed mapped", grown, n/4)
	}
	b.mapped.last.Store(0)
	if _, err := b.Entries(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	if b.mapped.last.Load() == 0 {
		t.Fatal("a read after mappedEvery did not release the mapping")
	}
}
