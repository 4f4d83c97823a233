package queue

import (
	"strings"
	"testing"

	"github.com/durable-delivery/durable/internal/gittest"
)

// greetings declares two services' GREETING through a comprehension.
func greetings(a, b string) string {
	return "package quickstart\n\n_greeting: {svc0: \"" + a + "\", svc1: \"" + b + "\"}\n\nfor name, g in _greeting {\n\tservices: (name): run: env: GREETING: g\n}\n"
}

// Main and a proposal change different services' values written through
// one comprehension, on the same line: Git conflicts, and the field paths
// do not clash, but the proposal's field is written by the comprehension,
// which fieldedit cannot edit in place: the proposal is ejected with the
// place to edit by hand.
func TestAChangeInsideAComprehensionIsEjectedWithItsPlace(t *testing.T) {
	r := newDesiredRepo(t, 2)
	gittest.Run(t, r.work, "fetch", "-q", "q", "main")
	gittest.Run(t, r.work, "checkout", "-q", "-B", "p", "FETCH_HEAD")
	writeFiles(t, r.work, map[string]string{"greeting.cue": greetings("hello", "hello")})
	gittest.Run(t, r.work, "add", "-A")
	gittest.Run(t, r.work, "commit", "-q", "-m", "greetings")
	gittest.Run(t, r.work, "push", "-q", "q", "p:main")
	r.propose(t, "queue/1-svc0", map[string]string{"greeting.cue": greetings("bonjour", "hello")})
	r.propose(t, "queue/2-svc1", map[string]string{"greeting.cue": greetings("hello", "hallo")})
	run := newRunner(t, r, Config{})
	ps := byBranch(drain(t, run))
	if ps["queue/1-svc0"].State != Landed {
		t.Fatalf("the first: %s %q", ps["queue/1-svc0"].State, ps["queue/1-svc0"].Reasons)
	}
	p := ps["queue/2-svc1"]
	why := strings.Join(p.Reasons, "\n")
	if p.State != Ejected || p.Reason != ReasonConflict || !strings.Contains(why, "services.svc1.run.env.GREETING") || !strings.Contains(why, "greeting.cue:3:") || !strings.Contains(why, "comprehension") {
		t.Fatalf("the second: %s %s\n%s", p.State, p.Reason, why)
	}
	t.Logf("ejected: %s", why)
	if !strings.Contains(r.file(t, "main", "greeting.cue"), `svc0: "bonjour", svc1: "hello"`) {
		t.Fatalf("main's greeting.cue:\n%s", r.file(t, "main", "greeting.cue"))
	}
}
