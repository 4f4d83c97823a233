package queue

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/gittest"
)

// queue add refuses names Git would not take, hostile ones, oversized
// ones, main itself and a branch that is not there, each with the fix;
// a branch already queued is refused until it lands or is removed.
func TestEnqueueRefusesBadBranches(t *testing.T) {
	r := newDesiredRepo(t, 1)
	r.propose(t, "web-v2", map[string]string{"release.cue": releaseFile(1, map[int]int{0: 1})})
	st, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct{ branch, want string }{
		{"", "is empty"},
		{"main", "the branch proposals land on"},
		{"-delete", "starts with '-'"},
		{"refs/heads/web-v2", "without refs/heads/"},
		{"a..b", "not a name Git takes"},
		{"web v2", "not a name Git takes"},
		{"web\x00v2", "not a name Git takes"},
		{"web\nv2", "not a name Git takes"},
		{strings.Repeat("b", 201), "at most 200"},
		{"nothere", "is not in"},
	} {
		_, err := st.Enqueue(t.Context(), r.bare, "main", c.branch, now)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Enqueue(%.40q): %v, want an error saying %q", c.branch, err, c.want)
		}
	}
	p, err := st.Enqueue(t.Context(), r.bare, "main", "web-v2", now)
	if err != nil || p.State != Queued || p.Seq != 1 {
		t.Fatalf("Enqueue(web-v2): %+v %v", p, err)
	}
	if _, err := st.Enqueue(t.Context(), r.bare, "main", "web-v2", now); err == nil || !strings.Contains(err.Error(), "already in the queue") {
		t.Fatalf("enqueued twice: %v", err)
	}
	if _, err := st.Remove("web-v2", now); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Remove("web-v2", now); !errors.Is(err, ErrNotQueued) {
		t.Fatalf("removed twice: %v", err)
	}
	if _, err := st.Enqueue(t.Context(), r.bare, "main", "web-v2", now); err != nil {
		t.Fatalf("enqueue again after removal: %v", err)
	}
	if _, err := st.Enqueue(t.Context(), t.TempDir(), "main", "web-v3", now); err == nil || !strings.Contains(err.Error(), "open the Git repository") {
		t.Fatalf("a directory that is not a repository: %v", err)
	}
}

// A state file that is not a queue's, and no state directory, are refused
// naming the fix.
func TestOpenStoreRefusesWhatIsNotAQueuesState(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(strings.Repeat("not bbolt ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(dir); err == nil || !strings.Contains(err.Error(), "not a queue's state file") {
		t.Fatalf("a file that is not bbolt: %v", err)
	}
	if _, err := OpenStore(""); err == nil || !strings.Contains(err.Error(), "--state") {
		t.Fatalf("no directory: %v", err)
	}
}

// A proposal removed while it is validated does not land, and those
// behind it are applied without it.
func TestARemovedProposalDoesNotLand(t *testing.T) {
	r := newDesiredRepo(t, 2)
	r.propose(t, "queue/a", map[string]string{"release.cue": releaseFile(2, map[int]int{0: 1})})
	r.propose(t, "queue/b", map[string]string{"release.cue": releaseFile(2, map[int]int{1: 1})})
	run := newRunner(t, r, Config{})
	if err := run.scan(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := run.cfg.Store.Remove("queue/a", time.Now()); err != nil {
		t.Fatal(err)
	}
	ps := byBranch(drain(t, run))
	if ps["queue/a"].State != Removed || ps["queue/b"].State != Landed {
		t.Fatalf("after removing a: a %s, b %s", ps["queue/a"].State, ps["queue/b"].State)
	}
	if got := r.file(t, "main", "release.cue"); got != strings.TrimSpace(releaseFile(2, map[int]int{1: 1})) {
		t.Fatalf("main's release.cue:\n%s", got)
	}
}

// A proposal main already holds (pushed to main directly, or brought in
// by the proposal ahead of it) lands without a commit of its own, and its
// queue/ branch is deleted.
func TestAProposalMainHoldsLandsAsItIs(t *testing.T) {
	r := newDesiredRepo(t, 2)
	first := r.propose(t, "queue/1-first", map[string]string{"release.cue": releaseFile(2, map[int]int{0: 1})})
	gittest.Run(t, r.bare, "branch", "queue/2-same", first)
	run := newRunner(t, r, Config{})
	ps := byBranch(drain(t, run))
	if p := ps["queue/2-same"]; p.State != Landed || p.Method != MethodContained || p.Candidate != first {
		t.Fatalf("the proposal the first brought: %s %s %.12s", p.State, p.Method, p.Candidate)
	}
	if left := gittest.Run(t, r.bare, "branch", "--list", "queue/*"); left != "" {
		t.Fatalf("queue branches left: %s", left)
	}
	if n := strings.Count(gittest.Run(t, r.bare, "log", "--format=%H", "main"), "\n"); n != 1 {
		t.Fatalf("main has %d commits after the first, want 1", n)
	}
}

// A proposal whose commit is gone from the repository is ejected; it does
// not block those behind it.
func TestAProposalWhoseCommitIsGoneIsEjected(t *testing.T) {
	r := newDesiredRepo(t, 2)
	run := newRunner(t, r, Config{})
	if _, err := run.cfg.Store.Add("gone", strings.Repeat("ab", 20), time.Now()); err != nil {
		t.Fatal(err)
	}
	r.propose(t, "queue/after", map[string]string{"release.cue": releaseFile(2, map[int]int{1: 1})})
	ps := byBranch(drain(t, run))
	if p := ps["gone"]; p.State != Ejected || p.Reason != ReasonBranch || !strings.Contains(strings.Join(p.Reasons, ""), "push it again") {
		t.Fatalf("the proposal whose commit is gone: %s %s %q", p.State, p.Reason, p.Reasons)
	}
	if ps["queue/after"].State != Landed {
		t.Fatalf("the one behind: %s %q", ps["queue/after"].State, ps["queue/after"].Reasons)
	}
}
