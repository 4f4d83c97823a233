package journal

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/etcdtest"
)

// TestEtcdAppendsFromTwoStores: two stores on the same prefix (two
// processes, as during a failover before fencing) never give one Seq
// twice nor leave a gap: a lost race for the counter is tried again.
func TestEtcdAppendsFromTwoStores(t *testing.T) {
	ctx := context.Background()
	client := etcdtest.Start(t).Client(t)
	stores := []*Etcd{openTestEtcd(t, EtcdConfig{Client: client, Prefix: "/shared"}), openTestEtcd(t, EtcdConfig{Client: client, Prefix: "/shared"})}
	const writers, each = 6, 30
	seqs := make(chan uint64, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		st := stores[w%2]
		wg.Go(func() {
			for range each {
				e, err := st.Append(ctx, Entry{Kind: api.EntryEvent, Message: "w"})
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- e.Seq
				// Each store also records transitions, on a set of its own.
				if err := st.PutInfraSet(ctx, InfraSet{ID: "set-" + string(rune('a'+w)), State: api.SetCreating}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(seqs)
	checkSeqsOnce(t, seqs, writers*each)
	ts, err := stores[0].Transitions(ctx)
	if err != nil || len(ts) != writers {
		t.Fatalf("transitions = %d, %v; want one per set, %d", len(ts), err, writers)
	}
	for i, tr := range ts {
		if tr.Seq != uint64(i+1) {
			t.Fatalf("transition %d has Seq %d: not gap-free", i, tr.Seq)
		}
	}
}

func TestEtcdOpenRefusals(t *testing.T) {
	ctx := context.Background()
	client := etcdtest.Start(t).Client(t)
	if _, err := client.Put(ctx, "/damaged/counters/entries", "not a number"); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		cfg  EtcdConfig
		want string
	}{
		"no client":        {EtcdConfig{}, "no client"},
		"negative timeout": {EtcdConfig{Client: client, RequestTimeout: -time.Second}, "negative"},
		"record too large": {EtcdConfig{Client: client, MaxRecordBytes: 1 << 30}, "largest record"},
		"empty fence":      {EtcdConfig{Client: client, Fence: &Fence{Revision: 3}}, "ownership key"},
		"fence revision 0": {EtcdConfig{Client: client, Fence: &Fence{Key: "/owner"}}, "above 0"},
		"no owner":         {EtcdConfig{Client: client, Fence: &Fence{Key: "/owner", Revision: 3}}, "no longer owns"},
		"damaged counter":  {EtcdConfig{Client: client, Prefix: "/damaged"}, "damaged"},
	}
	for name, c := range cases {
		_, err := OpenEtcd(ctx, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}
	st := openTestEtcd(t, EtcdConfig{Client: client})
	if st.Prefix() != DefaultEtcdPrefix {
		t.Errorf("prefix = %q, want the default %q", st.Prefix(), DefaultEtcdPrefix)
	}
	if st := openTestEtcd(t, EtcdConfig{Client: client, Prefix: "/mine"}); st.Prefix() != "/mine/" {
		t.Errorf("prefix = %q, want /mine/", st.Prefix())
	}
}

// TestEtcdCallsHonourDeadlines: against an etcd that hangs (SIGSTOP), a
// call returns when its context's deadline passes, or after the request
// timeout when it has none; resumed, the journal goes on without a gap,
// whether or not the timed-out append landed.
func TestEtcdCallsHonourDeadlines(t *testing.T) {
	server := etcdtest.Start(t)
	client := server.Client(t)
	st := openTestEtcd(t, EtcdConfig{Client: client, RequestTimeout: 300 * time.Millisecond})
	appendEvents(t, st, 1)
	server.Pause(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := st.Append(ctx, Entry{Kind: api.EntryEvent}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Append with a deadline against a hung etcd: %v, want DeadlineExceeded", err)
	}
	if _, err := st.Entries(context.Background(), 0, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Entries without a deadline against a hung etcd: %v, want DeadlineExceeded (the request timeout)", err)
	}
	if err := st.PutRollout(context.Background(), Rollout{ID: "r", Phase: api.RolloutCreating}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("PutRollout without a deadline against a hung etcd: %v, want DeadlineExceeded", err)
	}
	server.Resume(t)
	long, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := st.Append(long, Entry{Kind: api.EntryEvent, Message: "after"})
	if err != nil {
		t.Fatal(err)
	}
	es, err := st.Entries(long, 0, 0)
	if err != nil || len(es) != int(e.Seq) {
		t.Fatalf("entries after resume = %d, %v; want 1..%d", len(es), err, e.Seq)
	}
	if problems, err := Check(long, st); err != nil || len(problems) != 0 {
		t.Fatalf("check: %q, %v", problems, err)
	}
}

// TestEtcdRecordsWrittenByAnotherStore: a store that wrote a record and
// another store that changed it since: the first's next put records the
// transition from what is there now, not from what it wrote.
func TestEtcdRecordsWrittenByAnotherStore(t *testing.T) {
	ctx := context.Background()
	client := etcdtest.Start(t).Client(t)
	a, b := openTestEtcd(t, EtcdConfig{Client: client, Prefix: "/two"}), openTestEtcd(t, EtcdConfig{Client: client, Prefix: "/two"})
	putSet(t, a, "s1", api.SetCreating)
	putSet(t, b, "s1", api.SetReady)
	putSet(t, a, "s1", api.SetServing)
	putRollout(t, b, "r1", api.RolloutCreating)
	if _, err := client.Delete(ctx, "/two/rollouts/r1"); err != nil {
		t.Fatal(err)
	}
	putRollout(t, b, "r1", api.RolloutCreating)
	got, err := a.Transitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var moves []string
	for _, tr := range got {
		moves = append(moves, strconv.FormatUint(tr.Seq, 10)+" "+tr.ID+" "+tr.From+">"+tr.To)
	}
	want := []string{"1 s1 >creating", "2 s1 creating>ready", "3 s1 ready>serving", "4 r1 >creating", "5 r1 >creating"}
	if !slices.Equal(moves, want) {
		t.Fatalf("transitions = %q, want %q", moves, want)
	}
	if problems, err := Check(ctx, b); err != nil || len(problems) != 0 {
		t.Fatalf("check: %q, %v", problems, err)
	}
}
