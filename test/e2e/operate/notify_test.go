package operate

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-delivery/durable/notify"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestNotificationsReachTheirReceivers runs durable run --notify with the
// example notifications file, its sinks pointed at a real HTTP receiver:
// v1's rollout and v2's canary, then a rejected revision, reach the signed
// webhook, the CloudEvents sink and the Slack channel as the file asks.
func TestNotificationsReachTheirReceivers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	secret := "e2e-notify-secret-0123456789abcdef"
	f.ExtraArgs = append(f.ExtraArgs, "--notify", exampleFile(t, f.Dir, srv.URL, secret))

	st, _ := f.ServeV1(ctx, "Deploy web v1")
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	f.Converge(ctx, st, "deploy v2", c2, "v2")
	broken := filepath.Join(f.Repo.Dir, "broken.cue")
	if err := os.WriteFile(broken, []byte("package "+f.Repo.Pkg()+"\n\nservices: web: run: replicas: \"many\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c3, err := f.Repo.Commit(ctx, "Replicas as a word")
	if err != nil {
		t.Fatal(err)
	}
	f.Judged(ctx, t, c3)

	// The webhook (ops) wants started, promoted, rejected, and no step.
	e2etest.WaitFor(ctx, t, "the rejected revision at the webhook", func() bool { return rcv.has("/ops", notify.RevisionRejected) })
	ops := rcv.events(t, "/ops", []byte(secret))
	wantTypes(t, "ops", ops, notify.RolloutStarted, notify.RolloutPromoted, notify.RevisionRejected)
	if slices.ContainsFunc(ops, func(ev notify.Event) bool { return ev.Type == notify.RolloutStepPromote }) {
		t.Error("the webhook was sent a step it does not want")
	}
	for _, ev := range ops {
		if ev.Type == notify.RevisionRejected && (ev.Revision != c3 || !strings.Contains(ev.Summary, "broken.cue:3:")) {
			t.Errorf("rejected revision event %+v; want commit %s and the positioned error", ev, c3)
		}
	}
	// The bus wants every type: v2's canary steps too.
	e2etest.WaitFor(ctx, t, "the rejected revision on the bus", func() bool { return rcv.has("/bus", notify.RevisionRejected) })
	wantTypes(t, "bus", rcv.events(t, "/bus", nil), notify.RolloutStarted, notify.RolloutStepPromote, notify.RolloutPromoted, notify.RevisionRejected)
	// Slack wants the rejected revision, its text escaped.
	e2etest.WaitFor(ctx, t, "the rejected revision in Slack", func() bool { return len(rcv.texts("/slack")) > 0 })
	if text := rcv.texts("/slack")[0]; !strings.HasPrefix(text, "Durable: revision "+c3[:10]+" rejected") {
		t.Errorf("Slack text %q", text)
	}
}

// exampleFile writes examples/notify with its secret files into dir, its
// sinks' addresses on base, and returns its path.
func exampleFile(t *testing.T, dir, base, secret string) string {
	t.Helper()
	text, err := os.ReadFile("../../../examples/notify/notify.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("https://hooks.example.com/durable", base+"/ops", "http://127.0.0.1:8088/events", base+"/bus")
	dir = filepath.Join(dir, "notify")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"ops.secret": secret, "team-slack.url": base + "/slack", "notify.yaml": r.Replace(string(text))} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "notify.yaml")
}

// receiver is a real HTTP receiver keeping each request by path.
type receiver struct {
	mu  sync.Mutex
	got map[string][]request
}

type request struct {
	header http.Header
	body   []byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[string][]request{}
	}
	r.got[req.URL.Path] = append(r.got[req.URL.Path], request{req.Header.Clone(), body})
}

func (r *receiver) requests(path string) []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got[path])
}

// events decodes what path got, a webhook's events (checking their
// signature with secret) or CloudEvents' data (secret nil).
func (r *receiver) events(t *testing.T, path string, secret []byte) []notify.Event {
	t.Helper()
	var out []notify.Event
	for _, req := range r.requests(path) {
		var ev notify.Event
		if secret != nil {
			if sig := req.header.Get(notify.HeaderSignature); !hmac.Equal([]byte(sig), []byte(notify.Sign(secret, req.body))) {
				t.Errorf("%s: signature %q does not match the body", path, sig)
			}
			if err := json.Unmarshal(req.body, &ev); err != nil {
				t.Fatalf("%s: %v: %s", path, err, req.body)
			}
		} else {
			ce := struct {
				SpecVersion string        `json:"specversion"`
				Type        string        `json:"type"`
				Data        *notify.Event `json:"data"`
			}{Data: &ev}
			if err := json.Unmarshal(req.body, &ce); err != nil || ce.SpecVersion != "1.0" || ce.Type != notify.CloudEventsPrefix+string(ev.Type) ||
				req.header.Get("Content-Type") != "application/cloudevents+json" {
				t.Fatalf("%s: not a CloudEvent (%v): %s", path, err, req.body)
			}
		}
		out = append(out, ev)
	}
	return out
}

// has reports whether path got an event of type typ.
func (r *receiver) has(path string, typ notify.Type) bool {
	for _, req := range r.requests(path) {
		if strings.Contains(string(req.body), `"type":"`+string(typ)+`"`) {
			return true
		}
	}
	return false
}

// texts are the Slack messages path got.
func (r *receiver) texts(path string) []string {
	var out []string
	for _, req := range r.requests(path) {
		var m struct{ Text string }
		if json.Unmarshal(req.body, &m) == nil {
			out = append(out, m.Text)
		}
	}
	return out
}

// wantTypes checks that evs hold each type of want, in want's order.
func wantTypes(t *testing.T, sink string, evs []notify.Event, want ...notify.Type) {
	t.Helper()
	var got []notify.Type
	for _, ev := range evs {
		got = append(got, ev.Type)
		t.Logf("%s got %s: %s", sink, ev.Type, ev.Summary)
	}
	i := 0
	for _, typ := range got {
		if i < len(want) && typ == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("%s got %v; want %v among them, in that order", sink, got, want)
	}
}
