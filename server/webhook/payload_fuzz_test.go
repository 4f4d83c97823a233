package webhook

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzWebhookPayload parses fuzzed bodies as a push's payload. ParsePush
// must not panic; it either refuses the body with a *PayloadError whose
// offset lies within the body, or returns a ref under refs/ of at most
// MaxRef bytes, an "after" that is empty or a commit id, and the very
// values encoding/json reads from the same body.
func FuzzWebhookPayload(f *testing.F) {
	sha := strings.Repeat("a1", 20)
	for _, seed := range []string{
		`{"ref":"refs/heads/main","after":"` + sha + `"}`,
		`{"ref":"refs/heads/main","before":"` + sha + `","after":"` + sha + `","commits":[{"id":"x","added":["a","b"]}],"pusher":{"name":"n"}}`,
		`{"object_kind":"push","ref":"refs/heads/main","checkout_sha":"` + sha + `","after":"` + sha + `"}`,
		`{"ref":"refs/heads/main","after":"0000000000000000000000000000000000000000","deleted":true}`,
		`{"ref":"refs/tags/v1"}`,
		`{"ref":"refs/heads/main","ref":"refs/heads/x"}`,
		`{"ref":7}`,
		`[1,2]`,
		`{"ref":"refs/heads/main"} trailing`,
		`{"a":{"b":[{"c":"\u0000"}]},"ref":"refs/heads/\u00e9"}`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParsePush(body)
		if err != nil {
			var pe *PayloadError
			if !errors.As(err, &pe) || pe.Offset < 0 || pe.Offset > int64(len(body)) {
				t.Fatalf("error %v (%T) has no offset within the body of %d bytes", err, err, len(body))
			}
			return
		}
		if !strings.HasPrefix(p.Ref, "refs/") || len(p.Ref) > MaxRef || p.After != "" && !isCommitID(p.After) {
			t.Fatalf("accepted %+v", p)
		}
		// A map keeps keys as they are: a struct would take "REF" for ref.
		var std map[string]any
		if err := json.Unmarshal(body, &std); err != nil {
			t.Fatalf("accepted a body encoding/json refuses: %v", err)
		}
		after, _ := std["after"].(string)
		if std["ref"] != p.Ref || after != p.After {
			t.Fatalf("read %+v, encoding/json reads ref %q after %q", p, std["ref"], std["after"])
		}
	})
}
