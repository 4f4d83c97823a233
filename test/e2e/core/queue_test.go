package core

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestRunQueueLandsAProposalThenRollsItOut: with durable run --queue, a
// branch pushed as queue/web-v2 is validated by the reconciler's own
// process, lands on main, and — the reconciler polling only once an hour —
// the landing itself makes the reconciler fetch and roll it out. The
// status (the API's and durable status's) shows the proposal landed, and
// /metrics counts it.
func TestRunQueueLandsAProposalThenRollsItOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	f.ExtraArgs = append(f.ExtraArgs, "--queue", "--queue-interval", "200ms", "--interval", "1h")
	st, _ := f.ServeV1(ctx, "Deploy web v1")

	git := func(args ...string) string {
		t.Helper()
		out, err := f.Repo.Git(ctx, args...)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	// Made on a branch of its own, then named queue/web-v2 in one step, as
	// a push does: the queue never sees the branch before its commit.
	git("checkout", "-q", "-b", "web-v2")
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2 through the queue")
	git("checkout", "-q", "main")
	git("branch", "queue/web-v2", "web-v2")

	var landed api.QueueProposal
	e2etest.WaitFor(ctx, t, "the proposal to land", func() bool {
		s, err := f.API.Status(ctx)
		if err != nil || s.Queue == nil || len(s.Queue.Proposals) == 0 {
			return false
		}
		landed = s.Queue.Proposals[0]
		return landed.State == api.ProposalLanded || landed.State == api.ProposalEjected
	})
	if landed.State != api.ProposalLanded || landed.Branch != "queue/web-v2" || landed.Head != c2 || landed.Candidate != c2 || landed.Method != "fast-forward" {
		t.Fatalf("the proposal did not land as its own commit by fast-forward: %+v\n%s", landed, f.Logs())
	}
	if main := git("rev-parse", "refs/heads/main"); main != c2 {
		t.Fatalf("main is at %s, not at the landed %s", main, c2)
	}
	out, err := exec.CommandContext(ctx, e2etest.Bin, "status", "--api", strings.TrimPrefix(f.API.Base, "http://"), "--token-file", f.TokenFile).CombinedOutput()
	if want := "#1 queue/web-v2 (" + c2[:12] + ") landed since"; err != nil || !strings.Contains(string(out), "Merge queue: 0 waiting") || !strings.Contains(string(out), want) {
		t.Fatalf("durable status: %v; it does not show the queue with %q:\n%s", err, want, out)
	}
	if !st.Promoted(ctx, "roll out what the queue landed", c2, "v2") {
		t.Fatalf("v2 did not converge after it landed:\n%s", f.Logs())
	}
	if m := scrape(t, ctx, f.API.Base+"/metrics"); !strings.Contains(m, "durable_queue_landed_total 1\n") || !strings.Contains(m, `durable_queue_proposals{state="landed"} 1`) {
		t.Fatalf("durable run's /metrics do not count the landing:\n%s", m)
	}
}

func scrape(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// TestWebhookPullRequestLandsThroughTheQueue: with durable run --queue and
// GitHub's webhook, a signed pull_request event that opens a pull request
// of branch web-v2 into main (no queue/ name) enqueues it; it lands and
// rolls out. A draft's event enqueues nothing.
func TestWebhookPullRequestLandsThroughTheQueue(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, _ := newHookFixture(t, ctx, "--queue", "--queue-interval", "200ms")
	st := f.Story()
	// The canary's steps are baked by requests too.
	st.Load = harness.StartLoadOn(ctx, []string{f.Router}, "", 2, 5*time.Millisecond)
	t.Cleanup(st.Load.Stop)
	git := func(args ...string) {
		t.Helper()
		if _, err := f.Repo.Git(ctx, args...); err != nil {
			t.Fatal(err)
		}
	}
	git("checkout", "-q", "-b", "web-v2")
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2 by pull request")
	git("checkout", "-q", "main")
	event := func(draft bool) string {
		return fmt.Sprintf(`{"action":"opened","pull_request":{"draft":%v,"head":{"ref":"web-v2","sha":%q,"repo":{"full_name":"ops/desired"}},"base":{"ref":"main","repo":{"full_name":"ops/desired"}}}}`, draft, c2)
	}
	if code, say := f.deliver(t, ctx, "pull_request", event(true), "pr-draft", e2eHookSecret); code != http.StatusOK || !strings.Contains(say, "draft") {
		t.Fatalf("a draft's event: %d %s", code, say)
	}
	if code, say := f.deliver(t, ctx, "pull_request", event(false), "pr-ready", e2eHookSecret); code != http.StatusAccepted || !strings.Contains(say, "enqueued") {
		t.Fatalf("a ready pull request's event: %d %s\n%s", code, say, f.Logs())
	}
	var landed api.QueueProposal
	e2etest.WaitFor(ctx, t, "the pull request to land", func() bool {
		s, err := f.API.Status(ctx)
		if err != nil || s.Queue == nil || len(s.Queue.Proposals) == 0 {
			return false
		}
		landed = s.Queue.Proposals[0]
		return landed.State == api.ProposalLanded || landed.State == api.ProposalEjected
	})
	if landed.State != api.ProposalLanded || landed.Branch != "web-v2" || landed.Head != c2 || len(mustStatus(t, ctx, f).Queue.Proposals) != 1 {
		t.Fatalf("the pull request did not land as itself: %+v\n%s", landed, f.Logs())
	}
	if !st.Promoted(ctx, "roll out the pull request the queue landed", c2, "v2") {
		t.Fatalf("v2 did not converge after it landed:\n%s", f.Logs())
	}
	st.AssertNoFailedRequests(t)
}

func mustStatus(t *testing.T, ctx context.Context, f *hookFixture) api.Status {
	t.Helper()
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
