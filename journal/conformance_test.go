package journal

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/internal/etcdtest"
)

// The conformance suite: every Store implementation is held to the same
// contract (store.go) by the same cases, against real backends (a bbolt
// file, a real etcd). Run one implementation with
// go test ./journal -run 'TestStoreConformance/etcd'.

// storeKind is one implementation under test.
type storeKind struct {
	// open makes an empty journal, closed with the test, and returns it
	// with a function that closes it and opens it again (a restart).
	open func(t *testing.T) (Store, func() Store)
	// maxRecord is the largest encoded record it stores.
	maxRecord int
}

// storeKinds names each implementation and how to make one; etcd's
// starts its server in the test that calls it, shared by its cases.
var storeKinds = []struct {
	name string
	make func(t *testing.T) storeKind
}{
	{"bolt", boltKind},
	{"etcd", etcdKind},
}

func boltKind(*testing.T) storeKind {
	return storeKind{maxRecord: maxRecordBytes, open: func(t *testing.T) (Store, func() Store) {
		path := filepath.Join(t.TempDir(), "journal.db")
		b := openTestBolt(t, path)
		return b, func() Store {
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			return openTestBolt(t, path)
		}
	}}
}

func etcdKind(t *testing.T) storeKind {
	server := etcdtest.Start(t)
	client := server.Client(t)
	return storeKind{maxRecord: DefaultEtcdMaxRecordBytes, open: func(t *testing.T) (Store, func() Store) {
		// Each case has a prefix of its own in the shared server.
		cfg := EtcdConfig{Client: client, Prefix: "/conformance/" + strings.ReplaceAll(t.Name(), "/", "|")}
		open := func() Store {
			s, err := OpenEtcd(context.Background(), cfg)
			if err != nil {
				t.Fatalf("OpenEtcd: %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}
		s := open()
		return s, func() Store {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open()
		}
	}}
}

func TestStoreConformance(t *testing.T) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			kind := k.make(t)
			for _, c := range conformanceCases {
				t.Run(c.name, func(t *testing.T) { c.run(t, kind) })
			}
		})
	}
}

// conformanceCases are the contract, case by case
// (conformance_cases_test.go, conformance_input_test.go,
// conformance_retention_test.go).
var conformanceCases = []struct {
	name string
	run  func(t *testing.T, k storeKind)
}{
	{"revisions round-trip, newest first", testRevisionRoundTripAndOrder},
	{"releases round-trip", testReleaseRoundTrip},
	{"infra-sets round-trip, by CreatedAt", testInfraSetRoundTripAndOrder},
	{"rollouts round-trip, by StartedAt", testRolloutRoundTripAndOrder},
	{"unknown ids are not found", testNotFound},
	{"bad records are refused", testRejectsBadRecords},
	{"canceled context", testCanceledContext},
	{"append and entries, across a restart", testAppendAndEntries},
	{"entries page by page", testEntriesPaging},
	{"concurrent appends get unique gap-free seqs", testConcurrentAppends},
	{"transitions recorded with the change", testTransitions},
	{"a legal journal checks", testCheckPasses},
	{"large values", testLargeValues},
	{"hostile strings", testHostileStrings},
	{"ids that prefix each other", testIDsThatPrefixEachOther},
	{"compaction keeps what is needed", testRetentionKeepsWhatIsNeeded},
	{"retain journals each compaction", testRetainJournalsEachCompaction},
}
