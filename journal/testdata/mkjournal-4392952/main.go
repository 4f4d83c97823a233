// Command mkjournal wrote testdata/journal-4392952.db with the journal of
// release 4392952 (reconcile/store then): run from a checkout of that commit,
// as hack/mkjournal, with the output file as its argument. Kept here so that
// the file can be made again; the Go tool ignores testdata.
package main

import (
	"context"
	"encoding/json"
	"log"
	"math"
	"os"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/reconcile/store"
	"github.com/durable-delivery/durable/schema"
)

func main() {
	ctx := context.Background()
	st, err := store.OpenBolt(os.Args[1], store.BoltOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	ds, err := schema.LoadDir("examples/quickstart")
	if err != nil {
		log.Fatal(err)
	}
	dsJSON, _ := json.Marshal(ds)
	svc := ds.Services["web"]
	spec, _ := json.Marshal(svc)
	rel := svc.ReleaseID()
	must := func(err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	must(st.PutRevision(ctx, store.Revision{Commit: "c1", Tree: "t1", Branch: "main", Message: "v1", Author: "dev <dev@example.com>", SeenAt: t0,
		Verdict: store.RevisionAccepted, Releases: map[string]string{"web": rel}, DesiredState: dsJSON, Policies: map[string]string{"policy/a.rego": "package durable.admission\n\ndeny contains msg if {\n\tinput.change.rollback == \"never\"\n\tmsg := \"no\"\n}\n"}, Approvals: json.RawMessage(`[]`)}))
	must(st.PutRevision(ctx, store.Revision{Commit: "c2", Tree: "t2", Branch: "main", Message: "broken", SeenAt: t0.Add(time.Minute),
		Verdict: store.RevisionRejected, Errors: []string{"service.cue:8:13: services.web.run.replicas: 0 is out of range"}}))
	must(st.PutRelease(ctx, store.Release{ID: rel, Service: "web", Artifact: svc.Artifact, Revision: "c1", SeenAt: t0, Spec: spec}))
	set := store.InfraSet{ID: "web-set1", Service: "web", Stage: "local", Target: "local", Release: rel, State: store.SetServing, CreatedAt: t0, UpdatedAt: t0, ServedAt: t0}
	must(st.PutInfraSet(ctx, set))
	must(st.PutInfraSet(ctx, store.InfraSet{ID: "web-old", Service: "web", Stage: "local", Target: "local", Release: "old", State: store.SetWarm, CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0}))
	must(st.PutRollout(ctx, store.Rollout{ID: "web/local/local/" + rel, Service: "web", Stage: "local", Target: "local", Release: rel, FromRelease: "old", Revision: "c1", Set: "web-set1",
		Phase: store.RolloutSucceeded, Step: 2, StepStartedAt: t0, StepBase: map[string]store.Counters{"web-set1": {Requests: 10, ServerErrors: 1, Latency: []adapters.LatencyBucket{{UpperBound: 0.1, Count: 9}, {UpperBound: math.Inf(1), Count: 10}}}},
		Verdict: &store.Verdict{Entry: "gate", Result: "allow", Policy: "policy/gate.rego", At: t0, Seq: 2}, StartedAt: t0, UpdatedAt: t0.Add(time.Minute)}))
	for _, e := range []store.Entry{
		{Time: t0, Kind: store.EntryRevision, Result: "accepted", Message: "revision c1 accepted"},
		{Time: t0, Kind: store.EntryDecision, Service: "web", Stage: "local", Target: "local", Set: "web-set1", Release: rel, Policy: "builtin/make-before-break", Result: "allow", Message: "new set", EntryPoint: "invariant", InputDigest: "sha256:00", Took: time.Millisecond},
		{Time: t0, Kind: store.EntryIntent, Service: "web", Stage: "local", Target: "local", Set: "web-set1", Release: rel, Action: "create-set", Decision: 2, Message: "new set"},
		{Time: t0, Kind: store.EntryOutcome, Service: "web", Stage: "local", Target: "local", Set: "web-set1", Release: rel, Action: "create-set", Intent: 3, Message: "create-set done"},
		{Time: t0, Kind: store.EntryEvent, Service: "web", Stage: "local", Action: "bake-started", Release: rel, Message: "bake", Detail: json.RawMessage(`{"startedAt":"2026-11-30T12:00:00Z","base":[]}`)},
	} {
		_, err := st.Append(ctx, e)
		must(err)
	}
}
