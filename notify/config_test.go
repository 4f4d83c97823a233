package notify

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const testSecret = "0123456789abcdef0123456789abcdef"

// writeFile writes content to dir/name with mode, and returns its path.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// exampleIn copies examples/notify into dir with its secret files, and
// returns the notifications file's path.
func exampleIn(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile("../examples/notify/notify.yaml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "ops.secret", testSecret+"\n", 0o600)
	writeFile(t, dir, "team-slack.url", "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX\n", 0o600)
	return writeFile(t, dir, "notify.yaml", string(b), 0o644)
}

// The example file loads: its sinks, their kinds, events and settings.
func TestExampleFileLoads(t *testing.T) {
	c, err := Load(exampleIn(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sinks) != 3 || c.Sinks[0].Name != "bus" || c.Sinks[1].Name != "ops" || c.Sinks[2].Name != "team" {
		t.Fatalf("sinks %+v: want bus, ops, team in that order", c.Sinks)
	}
	bus, ops, team := c.Sinks[0], c.Sinks[1], c.Sinks[2]
	if bus.Kind != CloudEvents || bus.Source != "/durable/prod" || len(bus.Events) != len(Types) || bus.Secret != nil {
		t.Errorf("bus: %+v", bus)
	}
	if ops.Kind != Webhook || string(ops.Secret) != testSecret || ops.URL != "https://hooks.example.com/durable" || len(ops.Events) != 7 ||
		!ops.Events[RolloutFailed] || ops.Events[GateHeld] || ops.Timeout != 10*time.Second || ops.Attempts != 5 || ops.Backoff != time.Second || ops.Queue != 1000 {
		t.Errorf("ops: %+v", ops)
	}
	if team.Kind != Slack || team.URL != "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX" || !team.Events[ApprovalNeeded] {
		t.Errorf("team: %+v", team)
	}
}

// A broken, hostile or oversized notifications file is refused with every
// problem positioned (file:line:col) and its fix; a secret never appears
// in a message.
func TestBrokenFilesArePositioned(t *testing.T) {
	sinkWith := func(lines string) string {
		return "sinks:\n  ops:\n    kind: webhook\n    url: \"http://127.0.0.1:9/x\"\n    secretFile: ok.secret\n" + lines
	}
	many := "sinks:\n"
	for i := range 33 {
		many += "  s" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ": {kind: slack, urlFile: slack.url, events: [\"*\"]}\n"
	}
	tests := []struct {
		name, text string
		want       []string
	}{
		{"syntax", "sinks:\n  ops: [\n", []string{":2:1: ", "fix the YAML syntax"}},
		{"empty", "", []string{"the notifications file is empty; declare sinks:"}},
		{"a list", "- ops\n", []string{":1:1: the notifications file must be a mapping with the fields sinks"}},
		{"unknown root field", "sink: {}\n", []string{":1:1: the notifications file: unknown field \"sink\" (known: sinks)", ":1:1: sinks is missing"}},
		{"no sinks", "sinks: {}\n", []string{":1:8: sinks names none"}},
		{"bad name", "sinks:\n  Ops!: {kind: slack, urlFile: slack.url, events: [\"*\"]}\n", []string{":2:3: sinks: \"Ops!\" is not a name"}},
		{"unknown sink field", sinkWith("    events: [\"*\"]\n    urls: x\n"), []string{":7:5: sinks.ops: unknown field \"urls\""}},
		{"duplicate field", sinkWith("    events: [\"*\"]\n    events: [\"*\"]\n"), []string{":7:5: sinks.ops: events is written twice; keep one"}},
		{"no kind", "sinks:\n  ops: {url: \"http://x/\", events: [\"*\"]}\n", []string{":2:8: sinks.ops: kind is missing; write kind: webhook, slack or cloudevents"}},
		{"bad kind", "sinks:\n  ops: {kind: email, events: [\"*\"]}\n", []string{":2:15: sinks.ops.kind: \"email\" is not a sink kind"}},
		{"no events", sinkWith(""), []string{":3:5: sinks.ops: events is missing"}},
		{"empty events", sinkWith("    events: []\n"), []string{":6:13: sinks.ops.events is empty"}},
		{"unknown event", sinkWith("    events: [rollout.exploded]\n"), []string{":6:14: sinks.ops.events[0]: \"rollout.exploded\" is not an event type; list types among revision.rejected, "}},
		{"events not a list", sinkWith("    events: rollout.failed\n"), []string{":6:13: sinks.ops.events must be a list"}},
		{"file URL", "sinks:\n  ops: {kind: webhook, url: \"file:///etc/passwd\", secretFile: ok.secret, events: [\"*\"]}\n", []string{":2:29: sinks.ops.url: \"file:///etc/passwd\" is not an http or https URL"}},
		{"credentials in URL", "sinks:\n  ops: {kind: webhook, url: \"https://u:p@h/x\", secretFile: ok.secret, events: [\"*\"]}\n", []string{"holds credentials, which this file must not"}},
		{"control character in URL", "sinks:\n  ops: {kind: webhook, url: \"http://h/\\nX-Injected: 1\", secretFile: ok.secret, events: [\"*\"]}\n", []string{":2:29: sinks.ops.url: ", "is not a URL"}},
		{"URL too long", "sinks:\n  ops: {kind: webhook, url: \"http://h/" + strings.Repeat("a", 3000) + "\", secretFile: ok.secret, events: [\"*\"]}\n", []string{"is longer than 2048 bytes"}},
		{"no host", "sinks:\n  ops: {kind: webhook, url: \"http:///x\", secretFile: ok.secret, events: [\"*\"]}\n", []string{"names no host"}},
		{"webhook without secret", "sinks:\n  ops: {kind: webhook, url: \"http://h/\", events: [\"*\"]}\n", []string{":2:8: sinks.ops: secretFile is missing; a webhook's body is signed"}},
		{"slack with url", "sinks:\n  team: {kind: slack, url: \"https://hooks.slack.com/x\", events: [\"*\"]}\n", []string{":2:28: sinks.team: a slack sink has no url (it takes urlFile)", ":2:9: sinks.team: urlFile is missing"}},
		{"secret readable by others", "sinks:\n  ops: {kind: webhook, url: \"http://h/\", secretFile: open.secret, events: [\"*\"]}\n", []string{":2:54: sinks.ops.secretFile: notification secret file ", "open.secret is open to group or others (mode 0644)", "chmod 600"}},
		{"secret too short", "sinks:\n  ops: {kind: webhook, url: \"http://h/\", secretFile: short.secret, events: [\"*\"]}\n", []string{":2:54: sinks.ops.secretFile: the secret is 5 bytes; use at least 16"}},
		{"secret too large", "sinks:\n  ops: {kind: webhook, url: \"http://h/\", secretFile: large.secret, events: [\"*\"]}\n", []string{"is larger than 4096 bytes"}},
		{"secret on two lines", "sinks:\n  ops: {kind: webhook, url: \"http://h/\", secretFile: two.secret, events: [\"*\"]}\n", []string{"holds more than one line"}},
		{"secret missing", "sinks:\n  ops: {kind: webhook, url: \"http://h/\", secretFile: none.secret, events: [\"*\"]}\n", []string{":2:54: sinks.ops.secretFile: notification secret file: open ", "no such file or directory"}},
		{"secret a FIFO", "sinks:\n  ops: {kind: webhook, url: \"http://h/\", secretFile: fifo.secret, events: [\"*\"]}\n", []string{"fifo.secret is not a regular file"}},
		{"slack URL file not a URL", "sinks:\n  team: {kind: slack, urlFile: bad.url, events: [\"*\"]}\n", []string{":2:32: sinks.team.urlFile: the URL it holds is not an http or https URL"}},
		{"timeout", sinkWith("    events: [\"*\"]\n    timeout: forever\n"), []string{":7:14: sinks.ops.timeout: \"forever\" is not a duration from 10ms to 2m0s"}},
		{"timeout too long", sinkWith("    events: [\"*\"]\n    timeout: 1h\n"), []string{"\"1h\" is not a duration from 10ms to 2m0s"}},
		{"attempts", sinkWith("    events: [\"*\"]\n    attempts: 0\n"), []string{":7:15: sinks.ops.attempts must be a whole number from 1 to 10"}},
		{"attempts a word", sinkWith("    events: [\"*\"]\n    attempts: five\n"), []string{"sinks.ops.attempts must be a whole number from 1 to 10"}},
		{"queue too large", sinkWith("    events: [\"*\"]\n    queue: 1000000\n"), []string{":7:12: sinks.ops.queue must be a whole number from 1 to 10000"}},
		{"alias", "sinks:\n  ops: &a {kind: slack, urlFile: slack.url, events: [\"*\"]}\n  two: *a\n", []string{":2:8: sinks.ops: YAML anchors and aliases are not supported", ":3:8: sinks.two: YAML anchors and aliases"}},
		{"too many sinks", many, []string{":2:3: sinks names 33 sinks; at most 32"}},
		{"deeply nested", "sinks:\n  ops: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", []string{":2:"}},
		{"NUL byte", "sinks:\x00\n", []string{"holds a NUL byte"}},
		{"several problems, in order", "sinks:\n  b: {kind: email, events: [\"*\"]}\n  a: {kind: slack, urlFile: slack.url, events: [nope]}\n", []string{":2:13: sinks.b.kind", ":3:49: sinks.a.events[0]"}},
	}
	dir := t.TempDir()
	writeFile(t, dir, "ok.secret", testSecret, 0o600)
	writeFile(t, dir, "open.secret", testSecret, 0o644)
	writeFile(t, dir, "short.secret", "short", 0o600)
	writeFile(t, dir, "large.secret", strings.Repeat("s", 5000), 0o600)
	writeFile(t, dir, "two.secret", testSecret+"\n"+testSecret, 0o600)
	writeFile(t, dir, "slack.url", "https://hooks.slack.com/services/T/B/SECRET", 0o600)
	writeFile(t, dir, "bad.url", "SECRET-not-a-url", 0o600)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, dir, "notify.yaml", tt.text, 0o644)
			c, err := Load(file)
			if err == nil {
				t.Fatalf("loaded %+v; want an error", c)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\nwant %q in it", msg, w)
				}
			}
			for _, line := range strings.Split(msg, "\n") {
				if !strings.HasPrefix(line, file+":") {
					t.Errorf("line %q does not name the file", line)
				}
			}
			if strings.Contains(msg, "SECRET") || strings.Contains(msg, testSecret) {
				t.Errorf("error %q shows a secret", msg)
			}
		})
	}
	// Positions come in the file's order.
	_, err := Load(writeFile(t, dir, "notify.yaml", tests[len(tests)-1].text, 0o644))
	if got := err.Error(); strings.Index(got, ":2:13:") > strings.Index(got, ":3:49:") {
		t.Errorf("errors out of order:\n%s", got)
	}
}

// The notifications file itself is refused when it is too large, missing,
// or writable by another local user.
func TestUnsafeOrOversizedFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		file func() string
		want string
	}{
		{"missing", func() string { return filepath.Join(dir, "none.yaml") }, "none.yaml: the notifications file does not exist; write it"},
		{"oversized", func() string {
			return writeFile(t, dir, "big.yaml", "# "+strings.Repeat("x", 2<<20)+"\n", 0o644)
		}, "big.yaml: the notifications file is larger than 1048576 bytes"},
		{"world-writable", func() string {
			return writeFile(t, dir, "open.yaml", "sinks: {}\n", 0o666)
		}, "is writable by group or others (mode 0666): any local user could send the reconciler's events to a receiver of theirs, or stop them; chmod go-w"},
		{"a directory", func() string { return dir }, "is not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.file())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v; want %q", err, tt.want)
			}
		})
	}
}
