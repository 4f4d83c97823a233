package journal

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/etcdtest"
)

// etcdCrashChildEnv, when set, turns the test binary into a writer of the
// etcd journal under crashPrefix that writes until it is killed; its value
// is etcd's endpoint.
const etcdCrashChildEnv = "DURABLE_ETCD_CRASH_CHILD"

const crashPrefix = "/crash/"

// crashCycle is the states the crash child moves its sets through, each a
// legal move from the one before, the last back to the first.
var crashCycle = []api.SetState{api.SetCreating, api.SetReady, api.SetServing, api.SetRemoving, api.SetRemoved}

func nextCrashState(s api.SetState) api.SetState {
	return crashCycle[(slices.Index(crashCycle, s)+1)%len(crashCycle)]
}

// writeEtcdUntilKilled appends entries and moves infra-sets on (with their
// transitions) forever, printing each write once it returned: "entry SEQ"
// or "set ID STATE".
func writeEtcdUntilKilled(endpoint string) {
	ctx := context.Background()
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	st, err := OpenEtcd(ctx, EtcdConfig{Client: client, Prefix: crashPrefix, RequestTimeout: time.Minute})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		line, err := crashWrite(ctx, st, i)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintln(out, line)
		if err := out.Flush(); err != nil {
			os.Exit(3)
		}
	}
}

// crashWrite is the crash child's i-th write: every third moves one of
// four sets on, the others append an entry of varying size.
func crashWrite(ctx context.Context, st *Etcd, i int) (string, error) {
	pad := strings.Repeat("p", rand.IntN(6000))
	if i%3 == 2 {
		id := "crash-set-" + strconv.Itoa(i%4)
		current, err := st.InfraSet(ctx, id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return "", err
		}
		next := nextCrashState(current.State)
		if err := st.PutInfraSet(ctx, InfraSet{ID: id, Service: "crash", State: next, Reason: pad}); err != nil {
			return "", err
		}
		return "set " + id + " " + string(next), nil
	}
	e, err := st.Append(ctx, Entry{Kind: api.EntryEvent, Message: "crash-append " + strconv.Itoa(i), Detail: json.RawMessage(strconv.Quote(pad))})
	if err != nil {
		return "", err
	}
	return "entry " + strconv.FormatUint(e.Seq, 10), nil
}

// TestEtcdSurvivesKill kills a writer of the etcd journal (SIGKILL) at
// random points, several times over the same journal, and reopens it
// each time: every write that returned is there, at most the one in
// flight besides, nothing half-written (an entry's Seq without the entry,
// a set's state without its transition), and Check finds nothing.
func TestEtcdSurvivesKill(t *testing.T) {
	server := etcdtest.Start(t)
	client := server.Client(t)
	const rounds = 10
	var reported uint64
	acked := map[string]api.SetState{}
	for round := range rounds {
		runAndKill(t, etcdCrashChildEnv+"="+server.Endpoint, 10+rand.IntN(150), func(line string) {
			switch f := strings.Fields(line); {
			case len(f) == 2 && f[0] == "entry":
				reported = parseSeq(t, f[1])
			case len(f) == 3 && f[0] == "set":
				acked[f[1]] = api.SetState(f[2])
			default:
				t.Fatalf("child wrote %q", line)
			}
		})
		st := openTestEtcd(t, EtcdConfig{Client: client, Prefix: crashPrefix})
		n := checkCrashEntries(t, st, reported)
		checkCrashSets(t, st, acked)
		if problems, err := Check(context.Background(), st); err != nil || len(problems) != 0 {
			t.Fatalf("round %d: check: %q, %v", round, problems, err)
		}
		t.Logf("round %d: killed after %d reported appends, %d stored; sets acknowledged %v", round, reported, n, acked)
	}
}

// checkCrashEntries checks the entries are 1..n, whole, with every
// reported Seq and at most one more, and returns n.
func checkCrashEntries(t *testing.T, st Store, reported uint64) uint64 {
	t.Helper()
	entries, err := st.Entries(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has Seq %d: seqs are not 1..N contiguous", i, e.Seq)
		}
		if e.Kind != api.EntryEvent || !strings.HasPrefix(e.Message, "crash-append ") || len(e.Detail) == 0 {
			t.Fatalf("entry %d decoded wrong: %+v", e.Seq, e)
		}
	}
	n := uint64(len(entries))
	if n < reported || n > reported+1 {
		t.Fatalf("%d entries stored, the child reported %d returned Appends", n, reported)
	}
	return n
}

// checkCrashSets checks each set holds its acknowledged state or the one
// after it (the put in flight), and that its last transition is to it.
func checkCrashSets(t *testing.T, st Store, acked map[string]api.SetState) {
	t.Helper()
	ctx := context.Background()
	transitions, err := st.Transitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]string{}
	for i, tr := range transitions {
		if tr.Seq != uint64(i+1) {
			t.Fatalf("transition %d has Seq %d: not gap-free", i, tr.Seq)
		}
		last[tr.ID] = tr.To
	}
	sets, err := st.InfraSets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		if want, ok := acked[s.ID]; ok && s.State != want && s.State != nextCrashState(want) {
			t.Errorf("set %s is %s; the child's last acknowledged put made it %s", s.ID, s.State, want)
		}
		if last[s.ID] != string(s.State) {
			t.Errorf("set %s is %s, but its last transition is to %q: the change and its transition were not written together", s.ID, s.State, last[s.ID])
		}
	}
	for id := range acked {
		if _, err := st.InfraSet(ctx, id); err != nil {
			t.Errorf("acknowledged set %s: %v", id, err)
		}
	}
}
