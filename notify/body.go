package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a delivery.
const (
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256 of the body
	// with the sink's secret.
	HeaderSignature = "X-Durable-Signature-256"
	// HeaderDelivery is the event's id: the same on each retry of it.
	HeaderDelivery = "X-Durable-Delivery"
	// HeaderTimestamp is when this attempt was sent, in Unix seconds.
	HeaderTimestamp = "X-Durable-Timestamp"
	// HeaderEvent is the event's type.
	HeaderEvent = "X-Durable-Event"
	// CloudEventsPrefix prefixes an event's type in a CloudEvent's type
	// attribute (dev.durable.rollout.failed).
	CloudEventsPrefix = "dev.durable."
)

// body is what a sink is sent for ev, and its content type.
func (s *sink) body(ev *Event) ([]byte, string, error) {
	switch s.cfg.Kind {
	case Slack:
		b, err := json.Marshal(map[string]string{"text": slackText(ev)})
		return b, "application/json", err
	case CloudEvents:
		b, err := json.Marshal(cloudEvent{SpecVersion: "1.0", ID: ev.ID, Source: s.cfg.Source, Type: CloudEventsPrefix + string(ev.Type),
			Time: ev.Time.UTC().Format(time.RFC3339Nano), Subject: ev.Subject(), DataContentType: "application/json", Data: ev})
		return b, "application/cloudevents+json", err
	}
	b, err := json.Marshal(ev)
	return b, "application/json", err
}

// cloudEvent is a CloudEvents 1.0 event in the structured JSON format.
type cloudEvent struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Time            string `json:"time"`
	Subject         string `json:"subject,omitempty"`
	DataContentType string `json:"datacontenttype"`
	Data            *Event `json:"data"`
}

// slackEscape escapes what Slack reads as markup in a message's text: a
// commit message holding <!channel> must not notify a whole channel.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackText is the one line a Slack channel shows.
func slackText(ev *Event) string {
	return "Durable: " + slackEscape.Replace(ev.Summary)
}

// request is one attempt to send body to the sink.
func (s *sink) request(ctx context.Context, ev *Event, body []byte, contentType string, now time.Time) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h.Set("Content-Type", contentType)
	h.Set("User-Agent", "durable-notify")
	if s.cfg.Kind == Slack {
		return req, nil
	}
	h.Set(HeaderDelivery, ev.ID)
	h.Set(HeaderEvent, string(ev.Type))
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	if len(s.cfg.Secret) > 0 {
		h.Set(HeaderSignature, Sign(s.cfg.Secret, body))
	}
	return req, nil
}

// Sign is the X-Durable-Signature-256 value of body with secret, as a
// receiver recomputes it (and compares in constant time, hmac.Equal).
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
