package core

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/server/webhook"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

const e2eHookSecret = "e2e-webhook-secret-0123456789abcdef"

// hookFixture is a fixture whose reconciler receives GitHub's webhooks and
// polls only once an hour, so that a fetch is the webhook's.
type hookFixture struct {
	*e2etest.Fixture
	client *http.Client
}

func newHookFixture(tb testing.TB, ctx context.Context, extra ...string) (*hookFixture, string) {
	tb.Helper()
	f := e2etest.New(tb, ctx)
	secret := filepath.Join(f.Dir, "github.secret")
	if err := os.WriteFile(secret, []byte(e2eHookSecret+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	f.ExtraArgs = append(append(f.ExtraArgs, "--webhook-secret-file", "github="+secret, "--interval", "1h"), extra...)
	st := f.Story()
	c1 := f.Commit(ctx, f.Artifacts["v1"], "", "Deploy web v1")
	f.StartReconciler(ctx)
	if !st.Promoted(ctx, "deploy v1", c1, "v1") {
		tb.Fatalf("v1 did not converge:\n%s", f.Logs())
	}
	return &hookFixture{Fixture: f, client: &http.Client{Timeout: 10 * time.Second}}, c1
}

// commitNote commits a change that leaves the desired state as it is (a
// comment), so that the revision is judged in full and starts no rollout.
func (f *hookFixture) commitNote(tb testing.TB, ctx context.Context, n int) string {
	tb.Helper()
	text := fmt.Sprintf("package %s\n\n// note %d\n", f.Repo.Pkg(), n)
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "note.cue"), []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	c, err := f.Repo.Commit(ctx, fmt.Sprintf("Note %d", n))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// push sends GitHub's push of commit to ref, with no API token, signed with
// secret, and returns the answer's status and what it says.
func (f *hookFixture) push(tb testing.TB, ctx context.Context, ref, commit, delivery, secret string) (int, string) {
	tb.Helper()
	body := fmt.Sprintf(`{"ref":%q,"before":"%s","after":%q,"commits":[{"id":%q}]}`, ref, strings.Repeat("0", 40), commit, commit)
	return f.deliver(tb, ctx, "push", body, delivery, secret)
}

// deliver sends GitHub's event with body, with no API token, signed with
// secret, and returns the answer's status and what it says.
func (f *hookFixture) deliver(tb testing.TB, ctx context.Context, event, body, delivery, secret string) (int, string) {
	tb.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.API.Base+"/v1/webhooks/github", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	name, value := webhook.Sign(webhook.GitHub, []byte(secret), []byte(body))
	req.Header.Set(name, value)
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var answer map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		tb.Fatalf("webhook answer %d: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, answer["status"] + answer["error"]
}

// firstEntryOf waits for the first journal entry after seq that names
// commit, and returns it.
func (f *hookFixture) firstEntryOf(tb testing.TB, ctx context.Context, after uint64, commit string) api.Entry {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		entries, err := f.API.Journal(ctx, after, 100)
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range entries {
			if strings.Contains(e.Message, commit[:10]) {
				return e
			}
		}
		if len(entries) > 0 {
			after = entries[len(entries)-1].Seq
		}
		time.Sleep(2 * time.Millisecond)
	}
	tb.Fatalf("no journal entry names %s within a minute:\n%s", commit[:10], f.Logs())
	return api.Entry{}
}

func (f *hookFixture) lastSeq(tb testing.TB, ctx context.Context) uint64 {
	tb.Helper()
	s, err := f.API.Status(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return s.LastSeq
}

// TestWebhookFetchesThePushedCommit sends the real reconciler GitHub's
// deliveries without an API token: a push signed with another secret is
// refused and fetches nothing, a push to another branch is ignored, a
// signed push to main makes the reconciler judge the commit at once (it
// polls hourly), and the same delivery again is a duplicate.
func TestWebhookFetchesThePushedCommit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, _ := newHookFixture(t, ctx)
	c2 := f.commitNote(t, ctx, 2)
	for _, c := range []struct {
		ref, secret, delivery string
		code                  int
		say                   string
	}{
		{"refs/heads/main", "another-secret-0123456789", "d-1", http.StatusForbidden, "does not match the body"},
		{"refs/heads/feature", e2eHookSecret, "d-2", http.StatusOK, "ignored: a push to refs/heads/feature; this reconciler follows refs/heads/main"},
	} {
		if code, say := f.push(t, ctx, c.ref, c2, c.delivery, c.secret); code != c.code || !strings.Contains(say, c.say) {
			t.Fatalf("push to %s: %d %q, want %d saying %q", c.ref, code, say, c.code, c.say)
		}
	}
	time.Sleep(2 * time.Second)
	if s, err := f.API.Status(ctx); err != nil || s.Head == nil || s.Head.Commit == c2 {
		t.Fatalf("a refused or ignored delivery fetched %s: %+v, %v", c2[:10], s.Head, err)
	}
	after := f.lastSeq(t, ctx)
	if code, say := f.push(t, ctx, "refs/heads/main", c2, "d-3", e2eHookSecret); code != http.StatusAccepted {
		t.Fatalf("signed push: %d %q", code, say)
	}
	// The first is its admission's decision, or without an admission
	// policy, the revision itself.
	if e := f.firstEntryOf(t, ctx, after, c2); !(e.Kind == api.EntryDecision && e.Result == "allow" || e.Kind == api.EntryRevision && e.Result == string(api.RevisionAccepted)) {
		t.Fatalf("the commit's first entry is %+v, want its admission or its acceptance", e)
	}
	e2etest.WaitFor(ctx, t, "revision "+c2[:10]+" to be the head", func() bool {
		s, err := f.API.Status(ctx)
		return err == nil && s.Head != nil && s.Head.Commit == c2
	})
	if code, say := f.push(t, ctx, "refs/heads/main", c2, "d-3", e2eHookSecret); code != http.StatusOK || !strings.Contains(say, "duplicate delivery") {
		t.Fatalf("the same delivery again: %d %q", code, say)
	}
}

// BenchmarkWebhookToJournal measures, per operation, the time from a
// signed GitHub push sent to the reconciler's API to the first journal
// entry of the pushed commit (its admission's decision): the webhook's
// checks, the fetch from a local repository, verification, the isolated
// load of the desired state, admission and the journal's write. Each commit
// changes a comment, so that the revision is loaded in full and no rollout
// runs between operations. The reconciler polls hourly: every fetch is the
// webhook's. Run with
//
//	go test ./test/e2e/core -run '^$' -bench WebhookToJournal -benchtime 30x
func BenchmarkWebhookToJournal(b *testing.B) {
	ctx := context.Background()
	f, _ := newHookFixture(b, ctx)
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		commit := f.commitNote(b, ctx, i)
		after := f.lastSeq(b, ctx)
		b.StartTimer()
		sent := time.Now()
		if code, say := f.push(b, ctx, "refs/heads/main", commit, fmt.Sprint("bench-", i), e2eHookSecret); code != http.StatusAccepted {
			b.Fatalf("push: %d %q", code, say)
		}
		e := f.firstEntryOf(b, ctx, after, commit)
		took = append(took, e.Time.Sub(sent))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[(len(took)*99)/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}
