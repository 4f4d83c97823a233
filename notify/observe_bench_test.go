package notify

import (
	"testing"

	"github.com/durable-delivery/durable/api"
)

// The observer's cost on the journal's writer, with three sinks whose
// workers do not run (every queue full: each event queued drops one):
// an entry that means no event, and a rollout change queued to all three.
func BenchmarkObserver(b *testing.B) {
	var sinks []Sink
	for _, name := range []string{"a", "b", "c"} {
		s := testSink(name, Webhook, "http://127.0.0.1:9/")
		s.Queue = 1000
		sinks = append(sinks, s)
	}
	n := New(&Config{Sinks: sinks}, Options{})
	b.Run("entry without event", func(b *testing.B) {
		e := api.Entry{Kind: api.EntryOutcome, Action: api.ActionScaleSet, Message: "scale-set done"}
		for b.Loop() {
			n.Appended(e)
		}
	})
	b.Run("rollout change to 3 sinks", func(b *testing.B) {
		before, after := started("r1")
		for b.Loop() {
			n.RolloutPut(before, after)
		}
	})
}
