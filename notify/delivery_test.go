package notify

import (
	"crypto/hmac"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
)

// Each kind of sink is sent its body and headers: a webhook's signature
// recomputes from the raw body, a CloudEvent has its required attributes,
// a Slack message is one line of escaped text.
func TestEachKindOfSinkIsSentItsBody(t *testing.T) {
	hook, ce, slack := newReceiver(t, 0, false), newReceiver(t, 0, false), newReceiver(t, 0, false)
	n, _ := running(t, testSink("hook", Webhook, hook.URL), testSink("bus", CloudEvents, ce.URL), testSink("team", Slack, slack.URL))
	n.Appended(api.Entry{Seq: 7, Time: time.Now(), Kind: api.EntryRevision, Result: string(api.RevisionRejected),
		Message: "revision c0ffee123456 rejected: 1 error(s); what runs is unchanged", Error: "web.cue:3:5: <!channel> & friends\nsecond line",
		Detail: json.RawMessage(`{"commit":"c0ffee1234567890"}`)})

	d := hook.await(t, 1)[0]
	var ev Event
	if err := json.Unmarshal(d.body, &ev); err != nil {
		t.Fatalf("webhook body %s: %v", d.body, err)
	}
	if sig := d.header.Get(HeaderSignature); !hmac.Equal([]byte(sig), []byte(Sign([]byte(testSecret), d.body))) || !strings.HasPrefix(sig, "sha256=") || len(sig) != 71 {
		t.Errorf("signature %q does not recompute from the body", sig)
	}
	if ts, err := strconv.ParseInt(d.header.Get(HeaderTimestamp), 10, 64); err != nil || time.Since(time.Unix(ts, 0)) > time.Hour {
		t.Errorf("timestamp %q", d.header.Get(HeaderTimestamp))
	}
	if ev.Type != RevisionRejected || ev.ID == "" || d.header.Get(HeaderDelivery) != ev.ID || d.header.Get(HeaderEvent) != string(RevisionRejected) ||
		d.header.Get("Content-Type") != "application/json" || ev.Revision != "c0ffee1234567890" || ev.Seq != 7 ||
		ev.Summary != "revision c0ffee123456 rejected: 1 error(s); what runs is unchanged: web.cue:3:5: <!channel> & friends" {
		t.Errorf("webhook delivery: headers %v, event %+v", d.header, ev)
	}

	d = ce.await(t, 1)[0]
	var c map[string]any
	if err := json.Unmarshal(d.body, &c); err != nil {
		t.Fatalf("CloudEvent %s: %v", d.body, err)
	}
	if _, err := time.Parse(time.RFC3339, c["time"].(string)); err != nil {
		t.Errorf("CloudEvent time: %v", err)
	}
	data, _ := c["data"].(map[string]any)
	if c["specversion"] != "1.0" || c["id"] != ev.ID || c["source"] != "/durable" || c["type"] != "dev.durable.revision.rejected" ||
		c["subject"] != "c0ffee1234567890" || c["datacontenttype"] != "application/json" || data["type"] != "revision.rejected" ||
		d.header.Get("Content-Type") != "application/cloudevents+json" || !hmac.Equal([]byte(d.header.Get(HeaderSignature)), []byte(Sign([]byte(testSecret), d.body))) {
		t.Errorf("CloudEvent: headers %v, body %s", d.header, d.body)
	}

	d = slack.await(t, 1)[0]
	var m map[string]string
	if err := json.Unmarshal(d.body, &m); err != nil || len(m) != 1 {
		t.Fatalf("Slack body %s: %v", d.body, err)
	}
	if want := "Durable: revision c0ffee123456 rejected: 1 error(s); what runs is unchanged: web.cue:3:5: &lt;!channel&gt; &amp; friends"; m["text"] != want {
		t.Errorf("Slack text %q\nwant %q", m["text"], want)
	}
	if d.header.Get(HeaderSignature) != "" || d.header.Get("Content-Type") != "application/json" {
		t.Errorf("Slack headers %v", d.header)
	}
}

// A sink is sent the types it wants and no other.
func TestSinksAreSentOnlyWhatTheyWant(t *testing.T) {
	failures, all := newReceiver(t, 0, false), newReceiver(t, 0, false)
	n, _ := running(t, testSink("failures", Webhook, failures.URL, RolloutFailed), testSink("all", Webhook, all.URL))
	before, after := started("r1")
	n.RolloutPut(before, after)
	n.Appended(api.Entry{Kind: api.EntryOutcome, Action: api.ActionCreateSet, Message: "create-set done"})
	prev := after
	after.Phase, after.Message = api.RolloutFailed, "release r1 did not become healthy"
	n.RolloutPut(&prev, after)
	// One worker per sink, in order: once the failure arrived, anything
	// queued before it did too.
	got := failures.await(t, 1)
	types := func(ds []delivery) []Type {
		var out []Type
		for _, d := range ds {
			var ev Event
			_ = json.Unmarshal(d.body, &ev)
			out = append(out, ev.Type)
		}
		return out
	}
	if ts := types(got); len(ts) != 1 || ts[0] != RolloutFailed {
		t.Errorf("the failures sink got %v; want [rollout.failed]", ts)
	}
	if ts := types(all.await(t, 2)); len(ts) != 2 || ts[0] != RolloutStarted || ts[1] != RolloutFailed {
		t.Errorf("the sink wanting all got %v; want [rollout.started rollout.failed]", ts)
	}
}

// A receiver answering 500 is retried, with backoff, at most the sink's
// attempts, then the event is counted failed; so are 408 and 429.
func TestServerErrorsAreRetriedThenCountedFailed(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusRequestTimeout, http.StatusTooManyRequests} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			r := newReceiver(t, status, false)
			s := testSink("flaky", Webhook, r.URL)
			s.Attempts = 4
			n, logs := running(t, s)
			n.RolloutPut(started("r1"))
			waitMetric(t, n, 1, "durable_notifications_total", "flaky", "failed")
			got := r.deliveries()
			if len(got) != 4 || metric(t, n, "durable_notification_retries_total", "flaky") != 3 || metric(t, n, "durable_notifications_total", "flaky", "delivered") != 0 {
				t.Errorf("%d requests, %v retries; want 4 and 3", len(got), metric(t, n, "durable_notification_retries_total", "flaky"))
			}
			for _, d := range got[1:] {
				if d.header.Get(HeaderDelivery) != got[0].header.Get(HeaderDelivery) || string(d.body) != string(got[0].body) {
					t.Errorf("a retry is not the same delivery: %v", d.header)
				}
			}
			if !strings.Contains(logs.String(), "notification not delivered") || !strings.Contains(logs.String(), "attempts=4") {
				t.Errorf("log:\n%s", logs.String())
			}
		})
	}
}

// A receiver answering 400 refuses the event: it is not retried. Nor is a
// redirect followed: the body is signed for the address it was sent to.
func TestRefusalsAreNotRetried(t *testing.T) {
	elsewhere := newReceiver(t, 0, false)
	redirect := newReceiver(t, 0, false)
	redirect.Config.Handler = http.RedirectHandler(elsewhere.URL, http.StatusTemporaryRedirect)
	for _, tc := range []struct {
		name, url string
		r         *receiver
	}{{"400", "", newReceiver(t, http.StatusBadRequest, false)}, {"redirect", redirect.URL, nil}} {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url
			if tc.r != nil {
				url = tc.r.URL
			}
			s := testSink("refusing", Webhook, url)
			s.Attempts = 5
			n, _ := running(t, s)
			n.RolloutPut(started("r1"))
			waitMetric(t, n, 1, "durable_notifications_total", "refusing", "failed")
			if tc.r != nil && len(tc.r.deliveries()) != 1 {
				t.Errorf("%d requests; want 1", len(tc.r.deliveries()))
			}
			if r := metric(t, n, "durable_notification_retries_total", "refusing"); r != 0 {
				t.Errorf("%v retries; want none", r)
			}
		})
	}
	if len(elsewhere.deliveries()) != 0 {
		t.Error("the redirect was followed")
	}
}

// A Slack sink's URL is a secret: a failed delivery's log does not show it.
func TestASlackURLIsNotLogged(t *testing.T) {
	r := newReceiver(t, 0, false)
	url := r.URL + "/services/T000/B000/SECRETPATH"
	r.Close() // nothing listens there any more
	s := testSink("team", Slack, url)
	s.Attempts = 2
	n, logs := running(t, s)
	n.RolloutPut(started("r1"))
	waitMetric(t, n, 1, "durable_notifications_total", "team", "failed")
	if l := logs.String(); strings.Contains(l, "SECRETPATH") || !strings.Contains(l, "connection refused") {
		t.Errorf("log shows the URL, or not why:\n%s", l)
	}
}
