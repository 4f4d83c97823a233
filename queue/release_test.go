package queue

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/source"
)

// durable release --queue pushes its commit to queue/release-SERVICE-<12
// hex> through the source's CommitFilesTo, as here: the queue enqueues it
// from the push alone and lands it behind the proposal pushed before it,
// merged by field path on the adjacent line.
func TestAReleasePushedToAQueueBranchLands(t *testing.T) {
	r := newDesiredRepo(t, 2)
	r.propose(t, "queue/1-svc0", map[string]string{"release.cue": releaseFile(2, map[int]int{0: 5})})
	src, err := source.New(source.Config{URL: r.bare, Dir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := src.Fetch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	branch := "queue/release-svc1-" + digest(7)[:12]
	if _, err := src.CommitFilesTo(t.Context(), snap.Commit, branch, map[string][]byte{"release.cue": []byte(releaseFile(2, map[int]int{1: 7}))}, "Release svc1\n"); err != nil {
		t.Fatal(err)
	}
	ps := byBranch(drain(t, newRunner(t, r, Config{})))
	if p := ps[branch]; p.State != Landed || p.Method != MethodFieldMerge {
		t.Fatalf("the release: %s %s %q", p.State, p.Method, p.Reasons)
	}
	if got := r.file(t, "main", "release.cue"); got != strings.TrimSpace(releaseFile(2, map[int]int{0: 5, 1: 7})) {
		t.Fatalf("main's release.cue:\n%s", got)
	}
}
