package queue

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/gittest"
)

// A queue runner SIGKILLed at random instants while twenty proposals land
// (each by field path: adjacent lines) and started again each time, at a
// speculative depth from 1 to 4 picked for each run: every
// proposal lands exactly once, in the order it was queued, and main's
// history is those twenty commits and nothing else.
func TestAQueueKilledAtRandomLandsEachProposalOnceInOrder(t *testing.T) {
	const n = 20
	r := newDesiredRepo(t, n)
	for i := range n {
		r.propose(t, fmt.Sprintf("queue/%02d", i), map[string]string{"release.cue": releaseFile(n, map[int]int{i: i + 1})})
	}
	state := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	kills := 0
	for run := 0; ; run++ {
		if run > 200 {
			t.Fatalf("the queue did not finish after %d runs (%d killed)", run, kills)
		}
		cmd := exec.Command(self, "-test.run=^$")
		cmd.Env = append(os.Environ(), "DURABLE_QUEUE_CHILD=1", "DURABLE_QUEUE_REPO="+r.bare, "DURABLE_QUEUE_STATE="+state,
			fmt.Sprintf("DURABLE_QUEUE_DEPTH=%d", 1+rand.IntN(4)))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Most runs die early, some after a landing or two, a few finish;
		// the window grows run by run, so a slow machine finishes too.
		window := 400*time.Millisecond + time.Duration(run)*20*time.Millisecond
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("the queue failed: %v\n%s", err, stderr.String())
			}
		case <-time.After(time.Duration(rand.Int64N(int64(window)))):
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatal(err)
			}
			<-done
			kills++
			continue
		}
		break
	}
	t.Logf("%d runs SIGKILLed before the queue finished", kills)
	if kills == 0 {
		t.Fatal("no run was killed: the test proved nothing")
	}
	st, err := OpenStore(state)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	log := strings.Fields(gittest.Run(t, r.bare, "log", "--first-parent", "--format=%H", "--reverse", "main"))[1:]
	if len(ps) != n || len(log) != n {
		t.Fatalf("%d proposals and %d new commits on main, want %d of each", len(ps), len(log), n)
	}
	for i, p := range ps {
		if p.State != Landed || p.Branch != fmt.Sprintf("queue/%02d", i) || p.Candidate != log[i] {
			t.Fatalf("proposal %d: %s %s landed as %.12s; main's commit %d is %.12s", i, p.Branch, p.State, p.Candidate, i, log[i])
		}
		msg := gittest.Run(t, r.bare, "log", "-1", "--format=%B", log[i])
		if p.Method == MethodFastForward && log[i] != p.Head || p.Method != MethodFastForward && !strings.Contains(msg, "Queue-Branch: "+p.Branch) {
			t.Fatalf("main's commit %d is not %s's landing:\n%s", i, p.Branch, msg)
		}
	}
	if got := r.file(t, "main", "release.cue"); strings.Count(got, "sha256:"+digest(0)) != 0 {
		t.Fatalf("a change is missing from main:\n%s", got)
	}
}
