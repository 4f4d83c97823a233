package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/durable-delivery/durable/server/webhook"
)

// Webhooks configures the webhook receivers.
type Webhooks struct {
	// Secrets are the operator's secrets by kind; a kind without one is
	// not received (404, with the reason).
	Secrets map[webhook.Kind][]byte
	// Remembered is how many delivery ids are kept to ignore a retry;
	// 0 is webhook.DefaultRemembered.
	Remembered int
}

// IsWebhook reports whether req is a delivery to a webhook receiver: a POST
// to exactly /v1/webhooks/KIND of a known kind. Its signature is its
// credential, so the API's token guard lets these, and nothing else,
// through.
func IsWebhook(req *http.Request) bool {
	if req.Method != http.MethodPost || req.URL.RawPath != "" {
		return false
	}
	for _, k := range webhook.Kinds {
		if req.URL.Path == "/v1/webhooks/"+string(k) {
			return true
		}
	}
	return false
}

// receivers serves POST /v1/webhooks/{kind}.
type receivers struct {
	r       Reconciler
	secrets map[webhook.Kind][]byte
	seen    *webhook.Deliveries
	refused refusalLog
}

func newReceivers(r Reconciler, c Webhooks) *receivers {
	if c.Remembered == 0 {
		c.Remembered = webhook.DefaultRemembered
	}
	return &receivers{r: r, secrets: c.Secrets, seen: webhook.NewDeliveries(c.Remembered), refused: refusalLog{now: time.Now}}
}

// ServeHTTP checks a delivery in the order that reads least of what an
// unauthenticated sender sends: the kind, the declared length, the
// signature's presence, then the body up to the cap, its signature, its
// event, its payload, its delivery id, and last its branch.
func (h *receivers) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("kind")
	kind, ok := webhook.ParseKind(name)
	if !ok {
		writeError(w, http.StatusNotFound, "no webhook receiver "+strconv.Quote(name)+": use "+webhook.KindList())
		return
	}
	secret := h.secrets[kind]
	if secret == nil {
		writeError(w, http.StatusNotFound, "the "+name+" webhook receiver is not enabled on this reconciler: its operator starts durable run with --webhook-secret-file "+name+"=FILE (docs/operating.md, Webhooks)")
		return
	}
	body, ok := h.read(w, req, kind)
	if !ok {
		return
	}
	if err := webhook.Verify(kind, secret, req.Header.Get, body); err != nil {
		code := http.StatusForbidden
		if errors.Is(err, webhook.ErrUnsigned) {
			code = http.StatusUnauthorized
		}
		h.refuse(w, req, code, kind, err)
		return
	}
	switch event, eventName := webhook.Event(kind, req.Header.Get); event {
	case webhook.Ping:
		writeJSON(w, http.StatusOK, map[string]string{"status": "pong: the " + name + " receiver checks this webhook's signature"})
		return
	case webhook.Other:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored: event " + strconv.Quote(eventName) + " (" + webhook.EventHeader(kind) + ") is not a push or a pull request"})
		return
	case webhook.PullRequest:
		h.pullRequest(w, req, kind, body)
		return
	}
	payload, err := webhook.Payload(req.Header.Get("Content-Type"), body)
	var push webhook.PushEvent
	if err == nil {
		push, err = webhook.ParsePush(payload)
	}
	if err != nil {
		h.refuse(w, req, http.StatusUnprocessableEntity, kind, err)
		return
	}
	h.push(w, req, kind, push)
}

// push triggers a fetch for a push to the followed branch, once per
// delivery id.
func (h *receivers) push(w http.ResponseWriter, req *http.Request, kind webhook.Kind, p webhook.PushEvent) {
	if id := webhook.Delivery(kind, req.Header.Get); id != "" && !h.seen.First(kind, id) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "duplicate delivery: " + strconv.Quote(id) + " was handled already"})
		return
	}
	followed := "refs/heads/" + h.r.Branch()
	switch {
	case p.Ref != followed:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored: a push to " + p.Ref + "; this reconciler follows " + followed})
		return
	case p.Deleted():
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored: the push deleted " + p.Ref})
		return
	}
	h.r.Trigger()
	slog.Info("webhook: fetch requested", "kind", kind, "ref", p.Ref, "commit", p.After, "from", req.RemoteAddr)
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "fetch requested", "ref": p.Ref, "after": p.After})
}

// Enqueuer is what a reconciler that runs a merge queue (durable run
// --queue) offers the webhook receivers: a pull request marked ready
// enqueues its branch, at the commit the repository's branch points at
// then. It answers what it did, for the sender.
type Enqueuer interface {
	Enqueue(ctx context.Context, branch string) (string, error)
}

// pullRequest enqueues the branch of a pull request that an event marks
// ready to land on the followed branch, once per delivery id; every other
// pull request event is answered and ignored, saying why.
func (h *receivers) pullRequest(w http.ResponseWriter, req *http.Request, kind webhook.Kind, body []byte) {
	q, queues := h.r.(Enqueuer)
	if !queues {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored: this reconciler runs no merge queue (durable run --queue, docs/queue.md)"})
		return
	}
	payload, err := webhook.Payload(req.Header.Get("Content-Type"), body)
	var pr webhook.PullRequestEvent
	if err == nil {
		pr, err = webhook.ParsePullRequest(kind, payload)
	}
	if err != nil {
		h.refuse(w, req, http.StatusUnprocessableEntity, kind, err)
		return
	}
	if id := webhook.Delivery(kind, req.Header.Get); id != "" && !h.seen.First(kind, id) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "duplicate delivery: " + strconv.Quote(id) + " was handled already"})
		return
	}
	switch {
	case pr.Base != h.r.Branch():
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored: the pull request targets " + pr.Base + "; the queue lands on " + h.r.Branch()})
		return
	case !pr.Ready:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored: " + pr.Why})
		return
	}
	done, err := q.Enqueue(req.Context(), pr.Branch)
	if err != nil {
		h.refuse(w, req, http.StatusUnprocessableEntity, kind, err)
		return
	}
	slog.Info("webhook: pull request enqueued", "kind", kind, "branch", pr.Branch, "from", req.RemoteAddr, "queue", done)
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "enqueued", "branch": pr.Branch, "queue": done})
}

// read reads a delivery's body once it is signed at all: up to
// webhook.MaxBody bytes, refusing a longer one (413) before reading past
// the cap, by its Content-Length when it declares one.
func (h *receivers) read(w http.ResponseWriter, req *http.Request, kind webhook.Kind) ([]byte, bool) {
	tooLarge := errors.New("the body is over " + strconv.Itoa(webhook.MaxBody) + " bytes, the most a webhook receiver reads: send pushes only (not every event), or let the poll find the commit")
	if req.ContentLength > webhook.MaxBody {
		h.refuse(w, req, http.StatusRequestEntityTooLarge, kind, tooLarge)
		return nil, false
	}
	if err := webhook.Signed(kind, req.Header.Get); err != nil {
		h.refuse(w, req, http.StatusUnauthorized, kind, err)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, webhook.MaxBody))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		h.refuse(w, req, http.StatusRequestEntityTooLarge, kind, tooLarge)
		return nil, false
	case err != nil:
		h.refuse(w, req, http.StatusBadRequest, kind, errors.New("reading the body: "+err.Error()))
		return nil, false
	}
	return body, true
}

// refuse answers a refused delivery with its reason, and logs it for the
// operator, whose fix it often is.
func (h *receivers) refuse(w http.ResponseWriter, req *http.Request, code int, kind webhook.Kind, err error) {
	h.refused.log(slog.Default(), "webhook refused", "kind", kind, "code", code, "err", err, "from", req.RemoteAddr)
	writeError(w, code, string(kind)+" webhook: "+err.Error())
}

// refusalLog logs refused deliveries at most once a second, with the count
// of those it did not log since: any peer that reaches the API can send
// them, and must not flood the reconciler's log.
type refusalLog struct {
	now        func() time.Time
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (l *refusalLog) log(to *slog.Logger, msg string, args ...any) {
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < time.Second {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	unlogged := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	to.Warn(msg, append(args, "refusedUnlogged", unlogged)...)
}
