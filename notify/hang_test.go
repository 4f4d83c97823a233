package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// A receiver that hangs holds up nothing: 100,000 events fed to the
// observer return, the hung sink's queue stays at its bound with the rest
// counted dropped, its request is cut at the sink's timeout, and another
// sink is still sent its events.
func TestAHungReceiverHoldsUpNothing(t *testing.T) {
	hung, ok := newReceiver(t, 0, true), newReceiver(t, 0, false)
	h := testSink("hung", Webhook, hung.URL, RolloutStarted)
	h.Timeout, h.Attempts, h.Queue = 50*time.Millisecond, 1, 8
	n, _ := running(t, h, testSink("ok", CloudEvents, ok.URL, RolloutPromoted))

	const events = 100_000
	for i := range events {
		n.RolloutPut(started("r" + string(rune('a'+i%26))))
	}
	// The events the worker took: those it is done with, and one it may
	// hold.
	taken := int(metric(t, n, "durable_notifications_total", "hung", "failed")) + 1
	if q := metric(t, n, "durable_notification_queue_length", "hung"); q > 8 {
		t.Errorf("queue length %v; bound 8", q)
	}
	if d := metric(t, n, "durable_notifications_dropped_total", "hung"); d < float64(events-8-taken) || d > events {
		t.Errorf("dropped %v of %d events; want at least %d", d, events, events-8-taken)
	}

	_, before := started("r1")
	after := before
	after.Phase = api.RolloutSucceeded
	n.RolloutPut(&before, after)
	var ev Event
	var ce struct{ Data *Event }
	ce.Data = &ev
	if err := json.Unmarshal(ok.await(t, 1)[0].body, &ce); err != nil || ev.Type != RolloutPromoted {
		t.Errorf("the other sink got %+v (%v)", ev, err)
	}

	// The hung request is cut at the timeout, by the client: the event
	// counts failed, and the worker takes the next.
	waitMetric(t, n, 2, "durable_notifications_total", "hung", "failed")
	hung.mu.Lock()
	cut := hung.cut
	hung.mu.Unlock()
	if cut < 1 {
		t.Errorf("no request was cut by the client")
	}
}

// Even when every sink hangs, the observer never waits, and what it holds
// is bounded by the queues: every event is queued, dropped, or taken by a
// worker, and at most the queue's size waits.
func TestFeedingTheObserverNeverBlocks(t *testing.T) {
	var sinks []Sink
	for _, name := range []string{"a", "b", "c"} {
		s := testSink(name, Webhook, newReceiver(t, 0, true).URL)
		s.Timeout, s.Queue = 2*time.Minute, 100
		sinks = append(sinks, s)
	}
	n, _ := running(t, sinks...)
	const events = 100_000
	for range events {
		n.Appended(api.Entry{Kind: api.EntryDecision, EntryPoint: "gate", Result: "hold", Service: "web", Reasons: []string{"frozen"}})
	}
	for _, s := range n.sinks {
		queued := s.q.len()
		dropped := s.dropped.Load()
		if queued != 100 || int(dropped)+queued+1 < events || int(dropped)+queued > events {
			t.Errorf("sink %s: %d queued, %d dropped of %d; want 100 queued, the rest dropped but the one in flight", s.cfg.Name, queued, dropped, events)
		}
	}
}

// On shutdown, what is queued is still delivered within the drain time;
// what a hung receiver holds past it is counted abandoned, and Run returns.
func TestShutdownDrainsThenAbandons(t *testing.T) {
	good, hung := newReceiver(t, 0, false), newReceiver(t, 0, true)
	h := testSink("hung", Webhook, hung.URL)
	h.Timeout, h.Queue = 2*time.Minute, 50
	n := New(&Config{Sinks: []Sink{testSink("good", Webhook, good.URL), h}}, Options{Logger: slog.New(slog.DiscardHandler), Drain: 2 * time.Second})
	for i := range 20 {
		n.RolloutPut(started("r" + string(rune('a'+i))))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run starts its workers and then drains at once
	n.Run(ctx)
	if got := len(good.deliveries()); got != 20 || metric(t, n, "durable_notifications_total", "good", "delivered") != 20 {
		t.Errorf("good got %d of 20 queued before shutdown", got)
	}
	if a := metric(t, n, "durable_notifications_total", "hung", "abandoned"); a != 20 {
		t.Errorf("hung: %v abandoned; want 20", a)
	}
	n.RolloutPut(started("late"))
	if a := metric(t, n, "durable_notifications_total", "good", "abandoned"); a != 1 {
		t.Errorf("an event after Run ended: %v abandoned; want 1", a)
	}
}

// Through journal.Observed on a real journal, a rollout's first put and
// its promotion reach the receiver; a write that fails is not told.
func TestTheJournalTellsTheNotifier(t *testing.T) {
	r := newReceiver(t, 0, false)
	n, _ := running(t, testSink("hook", Webhook, r.URL))
	st, err := journal.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	obs := journal.Observed(st, n)
	ctx := context.Background()
	_, ro := started("r1")
	if err := obs.PutRollout(ctx, ro); err != nil {
		t.Fatal(err)
	}
	ro.Phase, ro.UpdatedAt = api.RolloutSucceeded, time.Now()
	if err := obs.PutRollout(ctx, ro); err != nil {
		t.Fatal(err)
	}
	if _, err := obs.Append(ctx, api.Entry{Kind: api.EntryEvent, Action: api.ActionDependencyDown, Result: "target zone-a traffic router",
		Message: "dependency target zone-a traffic router is down", Error: "connection refused"}); err != nil {
		t.Fatal(err)
	}
	var types []Type
	for _, d := range r.await(t, 3) {
		var ev Event
		if err := json.Unmarshal(d.body, &ev); err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.Type)
	}
	if len(types) != 3 || types[0] != RolloutStarted || types[1] != RolloutPromoted || types[2] != DependencyDown {
		t.Errorf("got %v", types)
	}
}
