// Package webhook reads the push notifications that Git forges send to the
// reconciler: it checks a delivery's signature against the operator's
// secret (in constant time), says which event it is and which delivery,
// and reads the two fields of a push the reconciler needs, the ref and the
// commit, with a strict decode of a bounded body.
//
// It never acts: package server decides what a delivery does. It imports
// nothing of the project, nor net/http, so that its fuzz target's binary is
// small (coverage-guided fuzzing scans every counter of the binary at each
// input; see internal/tarfiles).
package webhook

import "strings"

// Kind is a sender of webhooks: a forge, or generic for anything else that
// signs its body as Durable documents.
type Kind string

// The kinds of webhook receivers, each at POST /v1/webhooks/KIND.
const (
	GitHub  Kind = "github"
	GitLab  Kind = "gitlab"
	Gitea   Kind = "gitea"
	Generic Kind = "generic"
)

// Kinds are every kind, in the order messages list them.
var Kinds = []Kind{GitHub, GitLab, Gitea, Generic}

// ParseKind returns the kind named s, if there is one.
func ParseKind(s string) (Kind, bool) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, true
		}
	}
	return "", false
}

// KindList is "github, gitlab, gitea or generic", for messages.
func KindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Headers of the generic kind, which Durable defines.
const (
	// GenericSignature is `sha256=` and the hex HMAC-SHA256 of the body.
	GenericSignature = "X-Durable-Signature"
	// GenericDelivery is an optional id of the delivery, the same on a
	// retry: a repeated one is ignored.
	GenericDelivery = "X-Durable-Delivery"
)

// scheme is how one kind signs and names its deliveries.
type scheme struct {
	// signature is the header holding the signature (GitLab: the token).
	signature string
	// prefix comes before the hex HMAC in signature ("sha256=").
	prefix string
	// token: the header holds the secret itself, not an HMAC (GitLab).
	token bool
	// event is the header naming the event; "" for generic, always a push.
	event string
	// push, ping and pull are event's values for a push, a ping and a
	// pull request (GitLab: merge request).
	push, ping, pull string
	// delivery are the headers that may hold the delivery's id, the first
	// present wins.
	delivery []string
	// fix says where the sender's secret is set.
	fix string
}

var schemes = map[Kind]scheme{
	GitHub: {signature: "X-Hub-Signature-256", prefix: "sha256=", event: "X-GitHub-Event", push: "push", ping: "ping", pull: "pull_request",
		delivery: []string{"X-GitHub-Delivery"}, fix: "set the webhook's Secret (repository Settings → Webhooks) to the content of the reconciler's github secret file"},
	Gitea: {signature: "X-Gitea-Signature", event: "X-Gitea-Event", push: "push", pull: "pull_request",
		delivery: []string{"X-Gitea-Delivery"}, fix: "set the webhook's Secret (repository Settings → Webhooks) to the content of the reconciler's gitea secret file"},
	GitLab: {signature: "X-Gitlab-Token", token: true, event: "X-Gitlab-Event", push: "Push Hook", pull: "Merge Request Hook",
		delivery: []string{"Idempotency-Key", "X-Gitlab-Event-UUID"}, fix: "set the webhook's Secret token (project Settings → Webhooks) to the content of the reconciler's gitlab secret file"},
	Generic: {signature: GenericSignature, prefix: "sha256=",
		delivery: []string{GenericDelivery}, fix: "send " + GenericSignature + ": sha256=HEX, the HMAC-SHA256 of the body keyed with the content of the reconciler's generic secret file"},
}

// Header reads one header of a delivery (http.Header.Get fits).
type Header func(name string) string

// EventType is what a delivery's event means to the reconciler.
type EventType int

const (
	// Push is a push: it may trigger a fetch.
	Push EventType = iota
	// Ping is a forge checking that the receiver answers.
	Ping
	// PullRequest is a pull request's (merge request's) change: it may
	// enqueue its branch in the merge queue.
	PullRequest
	// Other is every other event, answered and ignored.
	Other
)

// Event says which event a delivery is, and its name as the sender gave it.
func Event(kind Kind, h Header) (EventType, string) {
	s := schemes[kind]
	if s.event == "" {
		return Push, "push"
	}
	name := h(s.event)
	switch {
	case name == s.push:
		return Push, name
	case s.ping != "" && name == s.ping:
		return Ping, name
	case s.pull != "" && name == s.pull:
		return PullRequest, name
	}
	return Other, name
}

// EventHeader is the header that names the event of kind's deliveries; ""
// for generic, whose deliveries are all pushes.
func EventHeader(kind Kind) string { return schemes[kind].event }

// Delivery is the delivery's id, the same on a retry of it, or "" when the
// sender gave none.
func Delivery(kind Kind, h Header) string {
	for _, name := range schemes[kind].delivery {
		if id := h(name); id != "" {
			return id
		}
	}
	return ""
}
