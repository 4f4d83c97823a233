package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/server/webhook"
)

const hookSecret = "s3cr3t-for-the-webhook-tests"

var (
	hookCommit = strings.Repeat("c0ffee", 6) + "beef"
	pushMain   = `{"ref":"refs/heads/main","before":"` + strings.Repeat("0", 40) + `","after":"` + hookCommit + `","commits":[]}`
)

// counter is a reconciler following main that counts the fetches asked.
type counter struct{ triggers atomic.Int32 }

func (c *counter) Status(context.Context) (api.Status, error) { return api.Status{}, nil }
func (c *counter) Trigger()                                   { c.triggers.Add(1) }
func (c *counter) Branch() string                             { return "main" }

// hmacOf is the hex HMAC-SHA256 of body under key, computed apart from the
// receiver's code.
func hmacOf(key, body string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

// delivery is one request to a receiver.
type delivery struct {
	kind    string
	headers map[string]string
	body    string
	// chunked sends the body without a Content-Length.
	chunked bool
}

func github(event, body string, extra ...string) delivery {
	h := map[string]string{"X-GitHub-Event": event, "X-Hub-Signature-256": "sha256=" + hmacOf(hookSecret, body), "Content-Type": "application/json"}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return delivery{kind: "github", headers: h, body: body}
}

func (d delivery) with(name, value string) delivery {
	h := map[string]string{}
	for k, v := range d.headers {
		h[k] = v
	}
	h[name] = value
	d.headers = h
	return d
}

// send delivers d to h and returns the answer's code and JSON body, and
// how many bytes of the body the receiver read.
func send(t testing.TB, h http.Handler, d delivery) (int, map[string]string, int64) {
	t.Helper()
	body := &countingReader{r: strings.NewReader(d.body)}
	req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/"+d.kind, body)
	req.ContentLength = int64(len(d.body))
	if d.chunked {
		req.ContentLength = -1
	}
	for k, v := range d.headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var answer map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
		t.Fatalf("answer %d %q is not a JSON object: %v", rec.Code, rec.Body, err)
	}
	return rec.Code, answer, body.n
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestWebhookDeliveries(t *testing.T) {
	large := `{"ref":"refs/heads/main","x":"` + strings.Repeat("y", webhook.MaxBody) + `"}`
	form := "payload=" + url.QueryEscape(pushMain)
	gitlabPush := `{"object_kind":"push","ref":"refs/heads/main","after":"` + hookCommit + `"}`
	for _, c := range []struct {
		name       string
		deliveries []delivery
		// code and say are the last answer's status and a part of it.
		code     int
		say      string
		triggers int32
	}{
		{"github push to main", []delivery{github("push", pushMain)}, 202, "fetch requested", 1},
		{"github form payload", []delivery{github("push", form).with("Content-Type", "application/x-www-form-urlencoded")}, 202, "fetch requested", 1},
		{"github ping", []delivery{github("ping", `{"zen":"Keep it logically awesome.","hook_id":1}`)}, 200, "pong", 0},
		{"github other event", []delivery{github("issues", `{"action":"opened"}`)}, 200, `ignored: event "issues"`, 0},
		{"push to another branch", []delivery{github("push", strings.Replace(pushMain, "refs/heads/main", "refs/heads/feature", 1))}, 200, "ignored: a push to refs/heads/feature; this reconciler follows refs/heads/main", 0},
		{"push of a tag", []delivery{github("push", strings.Replace(pushMain, "refs/heads/main", "refs/tags/main", 1))}, 200, "ignored: a push to refs/tags/main", 0},
		{"branch deleted", []delivery{github("push", strings.Replace(pushMain, hookCommit, strings.Repeat("0", 40), 1))}, 200, "ignored: the push deleted", 0},
		{"missing signature", []delivery{github("push", pushMain).with("X-Hub-Signature-256", "")}, 401, "no X-Hub-Signature-256 header", 0},
		{"wrong signature", []delivery{github("push", pushMain).with("X-Hub-Signature-256", "sha256="+hmacOf("another-secret", pushMain))}, 403, "does not match the body", 0},
		{"truncated signature", []delivery{github("push", pushMain).with("X-Hub-Signature-256", "sha256="+hmacOf(hookSecret, pushMain)[:40])}, 403, "is not sha256=64 hex digits", 0},
		{"signature of another body", []delivery{github("push", pushMain).with("X-Hub-Signature-256", "sha256="+hmacOf(hookSecret, pushMain+" "))}, 403, "does not match", 0},
		{"malformed body", []delivery{github("push", `{"ref":"refs/heads/main",}`)}, 422, "at byte 25 of the JSON payload", 0},
		{"ref not a string", []delivery{github("push", `{"ref":["refs/heads/main"]}`)}, 422, `"ref" is a JSON array, not a string`, 0},
		{"oversized with a length", []delivery{github("push", large)}, 413, "over 1048576 bytes", 0},
		{"oversized chunked", []delivery{{kind: "github", headers: github("push", large).headers, body: large, chunked: true}}, 413, "over 1048576 bytes", 0},
		{"duplicate delivery", []delivery{github("push", pushMain, "X-GitHub-Delivery", "d-1"), github("push", pushMain, "X-GitHub-Delivery", "d-1")}, 200, `duplicate delivery: "d-1"`, 1},
		{"two deliveries", []delivery{github("push", pushMain, "X-GitHub-Delivery", "d-1"), github("push", pushMain, "X-GitHub-Delivery", "d-2")}, 202, "fetch requested", 2},
		{"gitea push", []delivery{{kind: "gitea", body: pushMain, headers: map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": hmacOf(hookSecret, pushMain)}}}, 202, "fetch requested", 1},
		{"gitea wrong signature", []delivery{{kind: "gitea", body: pushMain, headers: map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": "sha256=" + hmacOf(hookSecret, pushMain)}}}, 403, "is not 64 hex digits", 0},
		{"gitlab push", []delivery{{kind: "gitlab", body: gitlabPush, headers: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": hookSecret}}}, 202, "fetch requested", 1},
		{"gitlab wrong token", []delivery{{kind: "gitlab", body: gitlabPush, headers: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": hookSecret[:8]}}}, 403, "X-Gitlab-Token is not the secret", 0},
		{"gitlab duplicate", []delivery{
			{kind: "gitlab", body: gitlabPush, headers: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": hookSecret, "Idempotency-Key": "k"}},
			{kind: "gitlab", body: gitlabPush, headers: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": hookSecret, "Idempotency-Key": "k"}}}, 200, "duplicate delivery", 1},
		{"gitlab tag push", []delivery{{kind: "gitlab", body: gitlabPush, headers: map[string]string{"X-Gitlab-Event": "Tag Push Hook", "X-Gitlab-Token": hookSecret}}}, 200, "ignored", 0},
		{"generic push", []delivery{{kind: "generic", body: `{"ref":"refs/heads/main"}`, headers: map[string]string{webhook.GenericSignature: "sha256=" + hmacOf(hookSecret, `{"ref":"refs/heads/main"}`)}}}, 202, "fetch requested", 1},
		{"generic unsigned", []delivery{{kind: "generic", body: `{"ref":"refs/heads/main"}`}}, 401, "no X-Durable-Signature header", 0},
		{"an unknown kind", []delivery{{kind: "bitbucket", body: pushMain}}, 404, "use github, gitlab, gitea or generic", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &counter{}
			secrets := map[webhook.Kind][]byte{}
			for _, k := range webhook.Kinds {
				secrets[k] = []byte(hookSecret)
			}
			h := Handler(r, nil, Webhooks{Secrets: secrets})
			var code int
			var answer map[string]string
			for _, d := range c.deliveries {
				code, answer, _ = send(t, h, d)
			}
			text := answer["status"] + answer["error"]
			if code != c.code || !strings.Contains(text, c.say) || r.triggers.Load() != c.triggers {
				t.Fatalf("answer %d %q after %d fetches; want %d saying %q after %d", code, text, r.triggers.Load(), c.code, c.say, c.triggers)
			}
			if strings.Contains(text, hookSecret) || strings.Contains(text, hmacOf(hookSecret, pushMain)) {
				t.Fatalf("the answer shows the secret or the expected signature: %q", text)
			}
		})
	}
}

// A kind without a secret is not received, whatever the delivery.
func TestWebhookKindWithoutASecret(t *testing.T) {
	r := &counter{}
	h := Handler(r, nil, Webhooks{Secrets: map[webhook.Kind][]byte{webhook.GitLab: []byte(hookSecret)}})
	code, answer, read := send(t, h, github("push", pushMain))
	if code != http.StatusNotFound || !strings.Contains(answer["error"], "--webhook-secret-file github=FILE") || read != 0 || r.triggers.Load() != 0 {
		t.Fatalf("answer %d %v, %d bytes read, %d fetches", code, answer, read, r.triggers.Load())
	}
}

// An oversized body is refused before it is read past the cap: not at all
// when its length is declared, and at most one byte more without; and an
// unsigned one is not read at all.
func TestWebhookBodyIsNotReadPastTheCap(t *testing.T) {
	h := Handler(&counter{}, nil, Webhooks{Secrets: map[webhook.Kind][]byte{webhook.GitHub: []byte(hookSecret)}})
	large := github("push", strings.Repeat(" ", 4*webhook.MaxBody))
	if code, _, read := send(t, h, large); code != http.StatusRequestEntityTooLarge || read != 0 {
		t.Fatalf("declared: %d, %d bytes read", code, read)
	}
	large.chunked = true
	if code, _, read := send(t, h, large); code != http.StatusRequestEntityTooLarge || read > webhook.MaxBody+64<<10 {
		t.Fatalf("chunked: %d, %d bytes read", code, read)
	}
	unsigned := github("push", pushMain).with("X-Hub-Signature-256", "")
	unsigned.chunked = true
	if code, _, read := send(t, h, unsigned); code != http.StatusUnauthorized || read != 0 {
		t.Fatalf("unsigned: %d, %d bytes read", code, read)
	}
}

// BenchmarkWebhookDelivery measures the receiver's own part of a push, on
// a GitHub payload of about 64 KiB (20 commits with their files): reading
// the body, its HMAC, the event, the parse of ref and after, the delivery
// id and the trigger. The rest of webhook → journal is the fetch and the
// revision's judgement (BenchmarkWebhookToJournal in test/e2e/core).
func BenchmarkWebhookDelivery(b *testing.B) {
	var commits []string
	for i := range 20 {
		files := fmt.Sprintf(`"services/team-%02d/web.cue"`, i)
		for range 60 {
			files += `,"services/payments/checkout-service-with-a-long-name.cue"`
		}
		commits = append(commits, fmt.Sprintf(`{"id":%q,"message":"Deploy %d","added":[],"removed":[],"modified":[%s]}`, hookCommit, i, files))
	}
	body := `{"ref":"refs/heads/main","before":"` + strings.Repeat("0", 40) + `","after":"` + hookCommit + `","commits":[` + strings.Join(commits, ",") + `],"repository":{"full_name":"acme/infra"}}`
	h := Handler(&counter{}, nil, Webhooks{Secrets: map[webhook.Kind][]byte{webhook.GitHub: []byte(hookSecret)}})
	d := github("push", body)
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := range b.N {
		d.headers["X-GitHub-Delivery"] = fmt.Sprint(i)
		if code, answer, _ := send(b, h, d); code != http.StatusAccepted {
			b.Fatalf("%d %v", code, answer)
		}
	}
}

// Refusals are logged at most once a second, the next line counting those
// left out: a peer sending forged deliveries cannot flood the log. The
// clock is the test's.
func TestWebhookRefusalsDoNotFloodTheLog(t *testing.T) {
	var out strings.Builder
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	start := time.Unix(1000, 0)
	var now time.Time
	l := refusalLog{now: func() time.Time { return now }}
	for _, at := range []time.Duration{0, 100 * time.Millisecond, 900 * time.Millisecond, time.Second, 1500 * time.Millisecond, 3 * time.Second} {
		now = start.Add(at)
		l.log(logger, "webhook refused", "at", at)
	}
	want := "level=WARN msg=\"webhook refused\" at=0s refusedUnlogged=0\n" +
		"level=WARN msg=\"webhook refused\" at=1s refusedUnlogged=2\n" +
		"level=WARN msg=\"webhook refused\" at=3s refusedUnlogged=1\n"
	if out.String() != want {
		t.Fatalf("logged\n%s\nwant\n%s", out.String(), want)
	}
}

// queueing is a reconciler following main whose merge queue records what
// pull requests enqueue, refusing the branch "gone".
type queueing struct {
	counter
	enqueued []string
}

func (q *queueing) Enqueue(_ context.Context, branch string) (string, error) {
	if branch == "gone" {
		return "", fmt.Errorf("branch gone is not in the repository: push it first")
	}
	q.enqueued = append(q.enqueued, branch)
	return fmt.Sprintf("proposal #%d", len(q.enqueued)), nil
}

// TestWebhookPullRequestEnqueues: a signed pull request event that marks a
// pull request into main ready enqueues its branch, once per delivery;
// drafts, other bases, other actions and forks are answered and ignored
// with the reason; a reconciler without a queue ignores them all; a
// malformed or hostile payload, or a branch the queue refuses, is refused
// (422) with the reason; an unsigned one enqueues nothing.
func TestWebhookPullRequestEnqueues(t *testing.T) {
	pr := func(action, head, base string, draft bool) string {
		return `{"action":"` + action + `","pull_request":{"draft":` + fmt.Sprint(draft) + `,"head":{"ref":"` + head + `","repo":{"full_name":"o/r"}},"base":{"ref":"` + base + `","repo":{"full_name":"o/r"}}}}`
	}
	mr := `{"object_kind":"merge_request","object_attributes":{"action":"update","source_branch":"mr-1","target_branch":"main","source_project_id":1,"target_project_id":1},"changes":{"draft":{"previous":true,"current":false}}}`
	gitlab := delivery{kind: "gitlab", headers: map[string]string{"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": hookSecret, "Content-Type": "application/json"}, body: mr}
	for _, c := range []struct {
		name       string
		queue      bool
		deliveries []delivery
		code       int
		say        string
		enqueued   []string
	}{
		{"ready into main", true, []delivery{github("pull_request", pr("opened", "queue/web-v2", "main", false))}, 202, "enqueued", []string{"queue/web-v2"}},
		{"marked ready", true, []delivery{github("pull_request", pr("ready_for_review", "web-v2", "main", true))}, 202, "enqueued", []string{"web-v2"}},
		{"gitlab draft marked ready", true, []delivery{gitlab}, 202, "enqueued", []string{"mr-1"}},
		{"a retried delivery", true, []delivery{
			github("pull_request", pr("opened", "web-v2", "main", false), "X-GitHub-Delivery", "d-1"),
			github("pull_request", pr("opened", "web-v2", "main", false), "X-GitHub-Delivery", "d-1"),
		}, 200, "duplicate delivery", []string{"web-v2"}},
		{"a draft", true, []delivery{github("pull_request", pr("opened", "web-v2", "main", true))}, 200, "draft", nil},
		{"into another branch", true, []delivery{github("pull_request", pr("opened", "web-v2", "release", false))}, 200, "targets release", nil},
		{"closed", true, []delivery{github("pull_request", pr("closed", "web-v2", "main", false))}, 200, "closed", nil},
		{"no queue here", false, []delivery{github("pull_request", pr("opened", "web-v2", "main", false))}, 200, "runs no merge queue", nil},
		{"a branch the queue refuses", true, []delivery{github("pull_request", pr("opened", "gone", "main", false))}, 422, "push it first", nil},
		{"a hostile branch", true, []delivery{github("pull_request", pr("opened", `x\u0000;rm -rf`, "main", false))}, 422, "no branch name has", nil},
		{"not a pull request", true, []delivery{github("pull_request", `{"zen":"x"}`)}, 422, "pull_request", nil},
		{"unsigned", true, []delivery{github("pull_request", pr("opened", "web-v2", "main", false)).with("X-Hub-Signature-256", "")}, 401, "", nil},
		{"signed with another secret", true, []delivery{github("pull_request", pr("opened", "web-v2", "main", false)).with("X-Hub-Signature-256", "sha256="+hmacOf("other", "x"))}, 403, "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := &queueing{}
			var r Reconciler = q
			if !c.queue {
				r = &q.counter
			}
			h := Handler(r, nil, Webhooks{Secrets: map[webhook.Kind][]byte{webhook.GitHub: []byte(hookSecret), webhook.GitLab: []byte(hookSecret)}})
			var code int
			var answer map[string]string
			for _, d := range c.deliveries {
				code, answer, _ = send(t, h, d)
			}
			if code != c.code || !strings.Contains(answer["status"]+answer["error"], c.say) || fmt.Sprint(q.enqueued) != fmt.Sprint(c.enqueued) {
				t.Fatalf("answered %d %v, enqueued %v; want %d saying %q, enqueued %v", code, answer, q.enqueued, c.code, c.say, c.enqueued)
			}
			if q.triggers.Load() != 0 {
				t.Fatalf("a pull request event asked for a fetch")
			}
		})
	}
}
