package queue

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/internal/gittest"
)

// With a URL (file://, through Git's transport), the queue mirrors the
// repository under its state, lands each proposal by a push with a lease,
// and deletes the landed queue/ branches on the remote; queue add reads
// the branch's head on the remote.
func TestARemoteRepositoryIsMirroredAndPushedTo(t *testing.T) {
	r := newDesiredRepo(t, 3)
	for i := range 3 {
		r.propose(t, fmt.Sprintf("queue/%d", i), map[string]string{"release.cue": releaseFile(3, map[int]int{i: i + 1})})
	}
	r.propose(t, "named", map[string]string{"service.cue": strings.Replace(servicesFile(3), "/healthz", "/ready", 1)})
	url := "file://" + r.bare
	st, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	run, err := NewRunner(Config{Repo: url, Mirror: filepath.Join(t.TempDir(), "mirror.git"), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Enqueue(t.Context(), url, "main", "named", run.cfg.Now()); err != nil {
		t.Fatal(err)
	}
	ps := byBranch(drain(t, run))
	for _, b := range []string{"queue/0", "queue/1", "queue/2", "named"} {
		if ps[b].State != Landed {
			t.Fatalf("%s: %s %q", b, ps[b].State, ps[b].Reasons)
		}
	}
	if got := r.file(t, "main", "release.cue"); got != strings.TrimSpace(releaseFile(3, map[int]int{0: 1, 1: 2, 2: 3})) {
		t.Fatalf("the remote's release.cue:\n%s", got)
	}
	if !strings.Contains(r.file(t, "main", "service.cue"), "/ready") {
		t.Fatal("the named branch did not land on the remote")
	}
	if left := gittest.Run(t, r.bare, "branch", "--list", "queue/*"); left != "" {
		t.Fatalf("queue branches left on the remote: %s", left)
	}
	if _, err := st.Enqueue(t.Context(), url, "main", "nothere", run.cfg.Now()); err == nil || !strings.Contains(err.Error(), "is not in") {
		t.Fatalf("a branch the remote lacks: %v", err)
	}
}
