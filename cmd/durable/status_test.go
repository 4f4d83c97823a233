package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
)

// canaryStatus is a service at its canary's first step, with the counters
// of a set id made again: cumulative 361 requests, 12 of them in the step.
func canaryStatus() api.Status {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return api.Status{Ready: api.Condition{Reason: api.ReasonProgressing, Message: "rolling out revision c2"},
		Services: []api.ServiceStatus{{Name: "web", Release: "r2", Placements: []api.PlacementStatus{{Stage: "s", Target: "t",
			Serving: "web-r1-t", Split: &api.Split{Service: "web", Backends: []api.Backend{{Set: "web-r1-t", Weight: 90}, {Set: "web-r2-t", Weight: 10}}},
			Sets: []api.SetStatus{
				{ID: "web-r1-t", Release: "r1", State: api.SetServing, Metrics: &api.SetMetrics{Requests: 900}, Step: &api.SetMetrics{Requests: 100}},
				{ID: "web-r2-t", Release: "r2", State: api.SetCanary, Metrics: &api.SetMetrics{Requests: 361, ServerErrors: 300}, Step: &api.SetMetrics{Requests: 12}},
			},
			Rollout: &api.Rollout{Release: "r2", Phase: api.RolloutCanary, Step: 1, UpdatedAt: at, Message: "canary step 1/1"}}}}}}
}

func TestStatusShowsTheStepsWindow(t *testing.T) {
	var out bytes.Buffer
	printStatus(&out, canaryStatus())
	if want := "web-r2-t  release r2  361 requests, 300 5xx (this step: 12 requests, 0 5xx)"; !strings.Contains(out.String(), want) {
		t.Fatalf("status does not show the step's window %q:\n%s", want, out.String())
	}
}

// TestStatusNamesWhatFails: the failing dependencies and a placement's
// converge error are shown with since when.
func TestStatusNamesWhatFails(t *testing.T) {
	st := canaryStatus()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st.Failing = []api.Failure{{Dependency: "prometheus http://127.0.0.1:9090", Error: "query: connection refused", Since: at}}
	st.Services[0].Placements[0].Error = &api.Failure{Error: "read traffic split: router admin 127.0.0.1:9: connection refused", Since: at}
	var b bytes.Buffer
	printStatus(&b, st)
	for _, want := range []string{
		"Failing: prometheus http://127.0.0.1:9090 since " + at.Local().Format(time.RFC3339) + ": query: connection refused",
		"failing since " + at.Local().Format(time.RFC3339) + ": read traffic split: router admin 127.0.0.1:9: connection refused",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status does not show %q:\n%s", want, b.String())
		}
	}
}

// TestStatusShowsTheMergeQueue: the waiting proposals with their place,
// the ended ones after, an ejection with its reason and lines; and a queue
// that could not be read says why.
func TestStatusShowsTheMergeQueue(t *testing.T) {
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	st := canaryStatus()
	st.Queue = &api.QueueStatus{Waiting: 2, Proposals: []api.QueueProposal{
		{Seq: 1, Branch: "queue/web-v2", Head: "1111111111111111", State: api.ProposalLanded, Added: at, Since: at.Add(time.Minute), Candidate: "2222222222222222", Method: "merge"},
		{Seq: 2, Branch: "queue/db", Head: "3333333333333333", State: api.ProposalEjected, Added: at, Since: at, Reason: "admission", Reasons: []string{"deny: db needs two replicas", "deny: a second reason"}},
		{Seq: 3, Branch: "queue/cache", Head: "4444444444444444", State: api.ProposalValidating, Position: 1, Added: at, Since: at},
		{Seq: 4, Branch: "queue/web-v3", Head: "5555555555555555", State: api.ProposalQueued, Position: 2, Added: at.Add(time.Hour), Since: at.Add(time.Hour)},
	}}
	var b bytes.Buffer
	printStatus(&b, st)
	when := func(t time.Time) string { return t.Local().Format(time.RFC3339) }
	out := b.String()
	want := []string{
		"Merge queue: 2 waiting",
		"#1 queue/web-v2 (111111111111) landed since " + when(at.Add(time.Minute)) + ", added " + when(at) + ", as 222222222222 by merge\n",
		"#2 queue/db (333333333333) ejected since " + when(at) + ", added " + when(at) + ": admission\n        deny: db needs two replicas\n        deny: a second reason\n",
		"1.  #3 queue/cache (444444444444) validating",
		"2.  #4 queue/web-v3 (555555555555) queued since " + when(at.Add(time.Hour)),
	}
	last := -1
	for _, w := range want {
		i := strings.Index(out, w)
		if i < 0 || i < last {
			t.Fatalf("status does not show %q after what comes before it:\n%s", w, out)
		}
		last = i
	}
	st.Queue = &api.QueueStatus{Proposals: []api.QueueProposal{}, Error: "queue state /s/queue.db: not a queue's state file"}
	b.Reset()
	printStatus(&b, st)
	if !strings.Contains(b.String(), "Merge queue: cannot be read: queue state /s/queue.db: not a queue's state file") {
		t.Fatalf("status does not say the queue cannot be read:\n%s", b.String())
	}
	st.Queue = nil
	b.Reset()
	printStatus(&b, st)
	if strings.Contains(b.String(), "Merge queue") {
		t.Fatalf("status shows a queue where none runs:\n%s", b.String())
	}
}
