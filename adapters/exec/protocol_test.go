package exec

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/hostconfig"
)

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "adapter.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHostileExecutables: whatever the executable does, a call ends within
// its timeout with a typed error that says what went wrong.
func TestHostileExecutables(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
		kind             error
	}{
		{"hangs", "sleep 60", "no answer within", adapters.ErrUnavailable},
		{"hangs in a child", "sleep 60 & wait", "no answer within", adapters.ErrUnavailable},
		// Writing 17 MB through a pipe took over the 500 ms timeout on a
		// loaded machine: its call gets longer, so that the cap, not the
		// timeout, is what it meets; and it goes on running after, so
		// that only stopping it at the cap ends the call before that.
		{"prints too much", "head -c 17000000 /dev/zero | tr '\\0' x; sleep 60", "printed more than", adapters.ErrUnavailable},
		{"prints garbage", "echo hello", "not a response", adapters.ErrUnavailable},
		{"unknown field", `echo '{"result": 1, "extra": 2}'`, "not a response", adapters.ErrUnavailable},
		{"fails", "echo broken >&2; exit 3", "broken", adapters.ErrUnavailable},
		{"says invalid", `echo '{"error": {"kind": "invalid", "message": "no such set"}}'`, "no such set", adapters.ErrInvalid},
		{"says not found", `echo '{"error": {"kind": "not-found", "message": "gone"}}'`, "gone", adapters.ErrNotFound},
		{"says an unknown kind", `echo '{"error": {"kind": "weird", "message": "odd"}}'`, "odd", adapters.ErrUnavailable},
		{"wrong result type", `echo '{"result": "seven"}'`, "result", adapters.ErrUnavailable},
		{"prints two answers", `echo '{"result": 1}'; echo '{"result": 2}'`, `text after the JSON value, at offset 14: "{\"result\": 2}\n"`, adapters.ErrUnavailable},
		{"prints text after its answer", `echo '{"result": 1} done'`, `text after the JSON value, at offset 14: "done\n"`, adapters.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			timeout := 500 * time.Millisecond
			if tc.name == "prints too much" {
				timeout = 20 * time.Second
			}
			tr := NewTraffic([]string{script(t, tc.body)}, timeout)
			done := make(chan error, 1)
			go func() {
				_, err := tr.InFlight(context.Background(), "web", "a")
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v; want %v containing %q", err, tc.kind, tc.want)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the call did not end after its timeout")
			}
		})
	}
}

// TestDecodeStrict: one JSON value, white space around it, and nothing
// else; what follows the value is refused at its offset.
func TestDecodeStrict(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{`{"result": 1}`, ""},
		{" \t{\"result\": 1}\r\n\n ", ""},
		{`{"result": 1}{"result": 2}`, `text after the JSON value, at offset 13: "{\"result\": 2}"`},
		{"{\"result\": 1}\n\n}", `text after the JSON value, at offset 15: "}"`},
		{`{"result": 1} ` + strings.Repeat("x", 100), `text after the JSON value, at offset 14: "` + strings.Repeat("x", 32) + `"`},
		{`{"result": 1}` + "\v", `text after the JSON value, at offset 13: "\v"`},
	} {
		var resp response
		err := decodeStrict([]byte(tc.data), &resp)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || err.Error() != tc.want) {
			t.Errorf("decodeStrict(%q): %v; want %q", tc.data, err, tc.want)
		}
	}
	if _, err := decodeLine([]byte(`{"call": 2, "result": 1} {"call": 2}`+"\n"), 2); err == nil || !strings.Contains(err.Error(), "at offset 25") {
		t.Errorf("decodeLine of two values: %v; want the second refused at its offset", err)
	}
}

func TestRequestCarriesVersionAndOperation(t *testing.T) {
	out := filepath.Join(t.TempDir(), "request.json")
	tr := NewTraffic([]string{script(t, "cat > "+out+"; echo '{\"result\": null}'")}, 10*time.Second)
	if err := tr.SetSplit(context.Background(), adapters.Split{Service: "web", Backends: []adapters.Backend{{Set: "a", Weight: 100, Endpoints: []string{"127.0.0.1:1"}}}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		Version int             `json:"version"`
		Op      string          `json:"op"`
		Split   json.RawMessage `json:"split"`
	}
	if err := json.Unmarshal(b, &req); err != nil || req.Version != ProtocolVersion || req.Op != "set-split" || !strings.Contains(string(req.Split), `"weight":100`) {
		t.Fatalf("request %s (%v)", b, err)
	}
}

func TestConfigIsStrict(t *testing.T) {
	host := adapters.Host{Config: &hostconfig.Config{File: "host.yaml", Plugins: map[string]hostconfig.Plugin{"x": {Command: []string{"/bin/true"}}}}}
	for _, cfg := range []string{`{}`, `{"plugin": "y"}`, `{"plugin": "x", "timeout": "soon"}`, `{"plugin": "x", "timeout": "-1s"}`, `{"plugin": "x", "cmd": 1}`,
		`{"command": ["/bin/sh", "-c", "id"]}`} {
		if _, err := adapters.NewRuntime("exec", json.RawMessage(cfg), host); err == nil {
			t.Errorf("runtime config %s accepted", cfg)
		}
		if _, err := adapters.NewTraffic("exec", json.RawMessage(cfg), host); err == nil {
			t.Errorf("traffic config %s accepted", cfg)
		}
	}
	if _, err := adapters.NewRuntime("exec", json.RawMessage(`{"plugin": "x"}`), adapters.Host{}); err == nil || !strings.Contains(err.Error(), "without a host file") {
		t.Errorf("a plug-in without a host file: %v", err)
	}
	if _, err := adapters.NewRuntime("exec", json.RawMessage(`{"plugin": "x", "timeout": "5s"}`), host); err != nil {
		t.Fatal(err)
	}
}

// The command is the host file's, the timeout the repository's when it
// gives one, else the host file's; longLived chooses the form.
func TestPluginComesFromTheHostFile(t *testing.T) {
	host := adapters.Host{Config: &hostconfig.Config{File: "host.yaml", Plugins: map[string]hostconfig.Plugin{
		"x":     {Command: []string{"/bin/true", "a"}, Timeout: 7 * time.Second},
		"lines": {Command: []string{"/bin/true", "b"}, LongLived: true}}}}
	for cfg, want := range map[string]time.Duration{`{"plugin": "x"}`: 7 * time.Second, `{"plugin": "x", "timeout": "2s"}`: 2 * time.Second} {
		tr, err := newTransport(json.RawMessage(cfg), host)
		if c, ok := tr.(oneShot); err != nil || !ok || strings.Join(c.command, " ") != "/bin/true a" || c.timeout != want {
			t.Errorf("%s: transport %#v (%v); want one-shot /bin/true a, %s", cfg, tr, err, want)
		}
	}
	tr, err := newTransport(json.RawMessage(`{"plugin": "lines", "timeout": "3s"}`), host)
	if l, ok := tr.(*longLived); err != nil || !ok || l.name != "lines" || strings.Join(l.command, " ") != "/bin/true b" || l.timeout != 3*time.Second {
		t.Errorf("transport %#v (%v); want long-lived lines, /bin/true b, 3s", tr, err)
	}
}
