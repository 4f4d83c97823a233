package queue

import (
	"fmt"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/internal/gittest"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/source"
)

// Ten proposals each change a different service's artifact on adjacent
// lines of release.cue: Git's merge of each onto main plus those ahead
// conflicts, and all ten land, in the order they were pushed, each
// landed tree loading with every change ahead of it kept.
func TestTenAdjacentProposalsLandInOrder(t *testing.T) {
	r := newDesiredRepo(t, 10)
	heads := map[string]string{}
	for i := range 10 {
		branch := fmt.Sprintf("queue/svc%d-v1", i)
		heads[branch] = r.propose(t, branch, map[string]string{"release.cue": releaseFile(10, map[int]int{i: i + 1})})
	}
	run := newRunner(t, r, Config{})
	ps := drain(t, run)
	if len(ps) != 10 {
		t.Fatalf("%d proposals, want 10", len(ps))
	}
	log := strings.Fields(gittest.Run(t, r.bare, "log", "--format=%H", "--reverse", "main"))[1:]
	if len(log) != 10 {
		t.Fatalf("main has %d new commits, want 10", len(log))
	}
	for i, p := range ps {
		if p.State != Landed || p.Branch != fmt.Sprintf("queue/svc%d-v1", i) {
			t.Fatalf("proposal %d: %+v", i, p)
		}
		if p.Candidate != log[i] {
			t.Fatalf("proposal %d landed as %s, main's commit %d is %s", i, p.Candidate, i, log[i])
		}
		if i > 0 && p.Method != MethodFieldMerge {
			t.Fatalf("proposal %d landed by %s; Git's merge should have conflicted", i, p.Method)
		}
		snap, err := source.ReadLocal(r.bare, p.Candidate)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := schema.Load(snap.Files)
		if err != nil {
			t.Fatalf("landed tree %d does not load: %v", i, err)
		}
		for j := range 10 {
			want := digest(0)
			if j <= i {
				want = digest(j + 1)
			}
			if got := ds.Services[fmt.Sprintf("svc%d", j)].Artifact; !strings.HasSuffix(got, want) {
				t.Fatalf("after %d landings svc%d is %s, want …%s", i+1, j, got, want[56:])
			}
		}
	}
	if refs, err := run.repo.queueBranches(t.Context()); err != nil || len(refs) != 0 {
		t.Fatalf("queue branches left after landing: %v %v", refs, err)
	}
	all := map[int]int{}
	for i := range 10 {
		all[i] = i + 1
	}
	if got := r.file(t, "main", "release.cue"); got != strings.TrimSpace(releaseFile(10, all)) {
		t.Fatalf("main's release.cue is not the ten changes on main's text:\n%s", got)
	}
}
