package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

const testSecret = "0123456789abcdef-webhook-secret"

// hmacHex is the HMAC-SHA256 of body under key, computed here apart from
// Sign, so that the test does not check Verify against itself.
func hmacHex(key, body string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func headers(kv ...string) Header {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(name string) string { return m[name] }
}

func TestWebhookVerify(t *testing.T) {
	body := `{"ref":"refs/heads/main","after":"` + strings.Repeat("a", 40) + `"}`
	good := hmacHex(testSecret, body)
	for _, c := range []struct {
		name string
		kind Kind
		h    Header
		want error
	}{
		{"github signed", GitHub, headers("X-Hub-Signature-256", "sha256="+good), nil},
		{"github upper-case hex", GitHub, headers("X-Hub-Signature-256", "sha256="+strings.ToUpper(good)), nil},
		{"github missing", GitHub, headers(), ErrUnsigned},
		{"github only the sha1 header", GitHub, headers("X-Hub-Signature", "sha1=00"), ErrUnsigned},
		{"github without prefix", GitHub, headers("X-Hub-Signature-256", good), ErrForged},
		{"github truncated", GitHub, headers("X-Hub-Signature-256", "sha256="+good[:62]), ErrForged},
		{"github odd length", GitHub, headers("X-Hub-Signature-256", "sha256="+good[:63]), ErrForged},
		{"github not hex", GitHub, headers("X-Hub-Signature-256", "sha256="+strings.Repeat("z", 64)), ErrForged},
		{"github other secret", GitHub, headers("X-Hub-Signature-256", "sha256="+hmacHex(testSecret+"x", body)), ErrForged},
		{"github other body", GitHub, headers("X-Hub-Signature-256", "sha256="+hmacHex(testSecret, body+" ")), ErrForged},
		{"gitea signed", Gitea, headers("X-Gitea-Signature", good), nil},
		{"gitea with a prefix", Gitea, headers("X-Gitea-Signature", "sha256="+good), ErrForged},
		{"gitea missing", Gitea, headers("X-Hub-Signature-256", "sha256="+good), ErrUnsigned},
		{"gitea wrong", Gitea, headers("X-Gitea-Signature", hmacHex("another-secret-entirely", body)), ErrForged},
		{"gitlab token", GitLab, headers("X-Gitlab-Token", testSecret), nil},
		{"gitlab missing", GitLab, headers(), ErrUnsigned},
		{"gitlab prefix of the token", GitLab, headers("X-Gitlab-Token", testSecret[:10]), ErrForged},
		{"gitlab token and more", GitLab, headers("X-Gitlab-Token", testSecret+"x"), ErrForged},
		{"gitlab an HMAC instead", GitLab, headers("X-Gitlab-Token", good), ErrForged},
		{"generic signed", Generic, headers(GenericSignature, "sha256="+good), nil},
		{"generic missing", Generic, headers(), ErrUnsigned},
		{"generic wrong", Generic, headers(GenericSignature, "sha256="+strings.Repeat("0", 64)), ErrForged},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Verify(c.kind, []byte(testSecret), c.h, []byte(body))
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("Verify: %v, want %v", err, c.want)
			}
			if err != nil && (strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), good)) {
				t.Fatalf("the error shows the secret or the expected signature: %v", err)
			}
			if err != nil && !strings.Contains(err.Error(), "secret") {
				t.Fatalf("the error does not say how to fix it: %v", err)
			}
		})
	}
}

// What Sign gives is what Verify accepts, for every kind.
func TestWebhookSignVerifies(t *testing.T) {
	for _, k := range Kinds {
		name, value := Sign(k, []byte(testSecret), []byte("{}"))
		if err := Verify(k, []byte(testSecret), headers(name, value), []byte("{}")); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
}

func TestWebhookSecretLength(t *testing.T) {
	if err := CheckSecret([]byte("short")); err == nil || !strings.Contains(err.Error(), "openssl rand") {
		t.Fatalf("a 5-byte secret: %v", err)
	}
	if err := CheckSecret([]byte(testSecret)); err != nil {
		t.Fatal(err)
	}
}

func TestWebhookEventsAndDeliveries(t *testing.T) {
	for _, c := range []struct {
		kind     Kind
		h        Header
		want     EventType
		delivery string
	}{
		{GitHub, headers("X-GitHub-Event", "push", "X-GitHub-Delivery", "d1"), Push, "d1"},
		{GitHub, headers("X-GitHub-Event", "ping"), Ping, ""},
		{GitHub, headers("X-GitHub-Event", "issues"), Other, ""},
		{GitHub, headers(), Other, ""},
		{Gitea, headers("X-Gitea-Event", "push", "X-Gitea-Delivery", "d2"), Push, "d2"},
		{Gitea, headers("X-Gitea-Event", "create"), Other, ""},
		{GitLab, headers("X-Gitlab-Event", "Push Hook", "X-Gitlab-Event-UUID", "u", "Idempotency-Key", "k"), Push, "k"},
		{GitLab, headers("X-Gitlab-Event", "Push Hook", "X-Gitlab-Event-UUID", "u"), Push, "u"},
		{GitLab, headers("X-Gitlab-Event", "Tag Push Hook"), Other, ""},
		{Generic, headers(GenericDelivery, "g"), Push, "g"},
	} {
		got, name := Event(c.kind, c.h)
		if got != c.want || Delivery(c.kind, c.h) != c.delivery {
			t.Errorf("%s %s: event %v, delivery %q; want %v, %q", c.kind, name, got, Delivery(c.kind, c.h), c.want, c.delivery)
		}
	}
}

func TestWebhookParsePush(t *testing.T) {
	sha := strings.Repeat("1f", 20)
	for _, c := range []struct {
		name, payload string
		want          PushEvent
		// err is in the error's reason; offset is the byte it names.
		err    string
		offset int64
	}{
		{name: "github", payload: `{"ref":"refs/heads/main","before":"` + sha + `","after":"` + sha + `","commits":[{"id":"x","added":["a"]}],"repository":{"ref":1}}`,
			want: PushEvent{Ref: "refs/heads/main", After: sha}},
		{name: "sha256 repository", payload: `{"after":"` + strings.Repeat("ab", 32) + `","ref":"refs/heads/main"}`, want: PushEvent{Ref: "refs/heads/main", After: strings.Repeat("ab", 32)}},
		{name: "generic without after", payload: " {\"ref\": \"refs/heads/x\"}\n", want: PushEvent{Ref: "refs/heads/x"}},
		{name: "not JSON", payload: `ref=main`, err: "invalid character", offset: 1},
		{name: "empty", payload: ``, err: "ends too early"},
		{name: "an array", payload: `[{"ref":"refs/heads/main"}]`, err: "not a JSON object", offset: 0},
		{name: "cut short", payload: `{"ref":"refs/heads/main","commits":[`, err: "ends too early", offset: 35},
		{name: "bad inside a skipped field", payload: `{"ref":"refs/heads/main","commits":[1,}`, err: "invalid character"},
		{name: "ref a number", payload: `{"ref":7}`, err: `"ref" is a JSON number`, offset: 7},
		{name: "ref twice", payload: `{"ref":"refs/heads/main","ref":"refs/heads/x"}`, err: "given twice", offset: 31},
		{name: "no ref", payload: `{"after":"` + sha + `"}`, err: `no "ref"`},
		{name: "ref not a ref", payload: `{"ref":"main"}`, err: "is not a ref"},
		{name: "ref with a newline", payload: `{"ref":"refs/heads/ma\nin"}`, err: "is not a ref"},
		{name: "ref too long", payload: `{"ref":"refs/heads/` + strings.Repeat("b", MaxRef) + `"}`, err: "is not a ref"},
		{name: "after not a commit", payload: `{"ref":"refs/heads/main","after":"HEAD"}`, err: "not a commit id"},
		{name: "something after", payload: `{"ref":"refs/heads/main"} {}`, err: "something follows", offset: 26},
		{name: "too large", payload: `{"ref":"refs/heads/main","x":"` + strings.Repeat("y", MaxBody) + `"}`, err: "over 1048576 bytes", offset: MaxBody},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParsePush([]byte(c.payload))
			if c.err == "" {
				if err != nil || got != c.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
				}
				return
			}
			var pe *PayloadError
			if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) || !strings.Contains(pe.Reason, c.err) {
				t.Fatalf("error %v, want one saying %q", err, c.err)
			}
			if c.offset != 0 && pe.Offset != c.offset {
				t.Fatalf("offset %d, want %d (%v)", pe.Offset, c.offset, err)
			}
		})
	}
}

func TestWebhookDeletedBranch(t *testing.T) {
	p, err := ParsePush([]byte(`{"ref":"refs/heads/main","after":"` + strings.Repeat("0", 40) + `"}`))
	if err != nil || !p.Deleted() {
		t.Fatalf("%+v %v: want a deleted branch", p, err)
	}
	if (PushEvent{Ref: "refs/heads/main"}).Deleted() {
		t.Fatal("a push without after is not a deletion")
	}
}

func TestWebhookFormPayload(t *testing.T) {
	payload := `{"ref":"refs/heads/main"}`
	form := "payload=" + url.QueryEscape(payload)
	for _, c := range []struct {
		contentType, body, want, err string
	}{
		{"application/json", payload, payload, ""},
		{"", payload, payload, ""},
		{"application/x-www-form-urlencoded", form, payload, ""},
		{"application/x-www-form-urlencoded; charset=utf-8", form, payload, ""},
		{"application/x-www-form-urlencoded", "other=1", "", "no single payload"},
		{"application/x-www-form-urlencoded", "payload=%zz", "", "does not decode"},
	} {
		got, err := Payload(c.contentType, []byte(c.body))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrMalformed) {
				t.Errorf("%s %q: %v, want %q", c.contentType, c.body, err, c.err)
			}
			continue
		}
		if err != nil || string(got) != c.want {
			t.Errorf("%s %q: %q %v", c.contentType, c.body, got, err)
		}
	}
}

func TestWebhookDeliveriesAreBounded(t *testing.T) {
	d := NewDeliveries(3)
	for i := range 5 {
		if !d.First(GitHub, fmt.Sprint(i)) {
			t.Fatalf("delivery %d seen before", i)
		}
	}
	if d.First(GitHub, "4") || d.First(GitHub, "2") {
		t.Fatal("a delivery among the last three was not recognised")
	}
	if !d.First(GitLab, "4") {
		t.Fatal("the same id from another kind is another delivery")
	}
	// 0 and 1 were forgotten to keep 3 ids; 3 was pushed out by gitlab's 4.
	if !d.First(GitHub, "0") || !d.First(GitHub, "3") {
		t.Fatal("the oldest deliveries were not forgotten")
	}
	if len(d.seen) != 3 || len(d.ring) != 3 {
		t.Fatalf("remembers %d ids (%d in the ring), want 3", len(d.seen), len(d.ring))
	}
}
