package journal

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
)

// crashChildEnv, when set, turns TestBoltCrashChild into a journal writer
// that appends until it is killed; its value is the journal path.
const crashChildEnv = "DURABLE_STORE_CRASH_CHILD"

// appendUntilKilled appends to the journal at path forever, printing each
// Seq once Append returned.
func appendUntilKilled(path string) {
	b, err := OpenBolt(path, BoltOptions{LockTimeout: time.Minute})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		// Varying sizes make bbolt split and grow pages at varying moments.
		pad := strings.Repeat("p", rand.IntN(6000))
		e, err := b.Append(context.Background(), Entry{Kind: api.EntryEvent, Message: "crash-append " + strconv.Itoa(i),
			Detail: json.RawMessage(strconv.Quote(pad))})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// A reported Seq has been returned by Append, so it must survive.
		fmt.Fprintln(out, e.Seq)
		if err := out.Flush(); err != nil {
			os.Exit(3)
		}
	}
}

func TestBoltSurvivesKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	const rounds = 4
	for round := range rounds {
		var reported uint64
		runAndKill(t, crashChildEnv+"="+path, 10+rand.IntN(150), func(line string) { reported = parseSeq(t, line) })

		b, err := OpenBolt(path, BoltOptions{})
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		entries, err := b.Entries(context.Background(), 0, 0)
		if err != nil {
			t.Fatalf("round %d: read entries after kill: %v", round, err)
		}
		for i, e := range entries {
			if e.Seq != uint64(i+1) {
				t.Fatalf("round %d: entry %d has Seq %d: seqs are not 1..N contiguous", round, i, e.Seq)
			}
			if e.Kind != api.EntryEvent || !strings.HasPrefix(e.Message, "crash-append ") || len(e.Detail) == 0 {
				t.Fatalf("round %d: entry %d decoded wrong: %+v", round, e.Seq, e)
			}
		}
		n := uint64(len(entries))
		// Every Append that returned is on disk; at most the one in flight
		// when the kill landed may also be there.
		if n < reported || n > reported+1 {
			t.Fatalf("round %d: %d entries on disk, child reported %d returned Appends", round, n, reported)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after %d reported appends, %d on disk", round, reported, n)
	}
}

// parseSeq is the Seq a crash child printed.
func parseSeq(t *testing.T, line string) uint64 {
	t.Helper()
	seq, err := strconv.ParseUint(line, 10, 64)
	if err != nil {
		t.Fatalf("child wrote %q", line)
	}
	return seq
}

// runAndKill starts the test binary again as a crash child (env says
// which), lets it report at least minReports writes, waits a random short
// moment, kills it with SIGKILL, and gives report every line it printed,
// those printed before the kill landed included: each is a write that
// returned.
func runAndKill(t *testing.T, env string, minReports int, report func(line string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	seen := 0
	for ; seen < minReports && lines.Scan(); seen++ {
		report(lines.Text())
	}
	time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for ; lines.Scan(); seen++ {
		report(lines.Text())
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", err)
	}
	if seen == 0 {
		t.Fatal("child reported no write")
	}
}
