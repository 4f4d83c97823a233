package reconcile

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/source"
)

// TestFollowerTakesTheJournalsVerdict: a reconciler that follows the
// journal (Config.Follow) judges nothing it fetches. A commit the journal
// has no verdict on yet is awaited and changes nothing, nor writes
// anything; once the leader journaled it accepted, the next pass adopts
// it; a commit the leader rejected is never adopted.
func TestFollowerTakesTheJournalsVerdict(t *testing.T) {
	ctx := context.Background()
	st, err := journal.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	accepted := func(commit, service string) journal.Revision {
		ds := schema.DesiredState{Services: map[string]schema.Service{service: {Name: service, Artifact: "r/" + service + "@sha256:00"}}}
		b, err := json.Marshal(ds)
		if err != nil {
			t.Fatal(err)
		}
		return journal.Revision{Commit: commit, Verdict: api.RevisionAccepted, DesiredState: b, SeenAt: time.Now().UTC()}
	}
	if err := st.PutRevision(ctx, accepted("c1", "web")); err != nil {
		t.Fatal(err)
	}
	r, err := New(ctx, Config{Follow: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, err := st.Entries(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	r.handleSnapshot(ctx, source.Snapshot{Commit: "c2"}, nil)
	if r.awaiting != "c2" || r.revision.Commit != "c1" {
		t.Fatalf("with no verdict on c2: awaiting %q, desired %q", r.awaiting, r.revision.Commit)
	}
	if r.awaitVerdict(ctx) {
		t.Fatal("a verdict was taken though the journal has none")
	}
	if err := st.PutRevision(ctx, accepted("c2", "api")); err != nil {
		t.Fatal(err)
	}
	if !r.awaitVerdict(ctx) || r.revision.Commit != "c2" || r.desiredState().Services["api"].Name != "api" {
		t.Fatalf("after the leader accepted c2: awaiting %q, desired %q", r.awaiting, r.revision.Commit)
	}
	if err := st.PutRevision(ctx, journal.Revision{Commit: "c3", Verdict: api.RevisionRejected, Errors: []string{"x.cue:1:1: bad"}}); err != nil {
		t.Fatal(err)
	}
	r.handleSnapshot(ctx, source.Snapshot{Commit: "c3"}, nil)
	if r.awaiting != "" || r.revision.Commit != "c2" {
		t.Fatalf("after the leader rejected c3: awaiting %q, desired %q", r.awaiting, r.revision.Commit)
	}
	after, err := st.Entries(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("the follower journaled %d entries: %+v", len(after)-len(before), after[len(before):])
	}
}

// TestOwnsLimitsThePlacementsConverged: a reconciler that owns some
// services (Config.Owns) converges only theirs: a pass over web and api
// creates web's set alone.
func TestOwnsLimitsThePlacementsConverged(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	web := h.service("1", schema.Health{})
	apiSvc := web
	apiSvc.Name = "api"
	h.ds = &schema.DesiredState{Services: map[string]schema.Service{"web": web, "api": apiSvc}, Targets: map[string]schema.Target{"t": h.target},
		Pipeline: schema.Pipeline{Stages: []schema.Stage{{Name: "s", Targets: []string{"t"}}}}}
	h.r.desired, h.r.revision = h.ds, journal.Revision{Commit: "c1", Attempt: "c1"}
	h.r.cfg.Owns = func(service string) bool { return service == "web" }
	h.r.pass(ctx)
	sets, err := h.st.InfraSets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 1 || sets[0].Service != "web" {
		t.Fatalf("infra-sets after a pass owning web only: %+v", sets)
	}
}
