package dashboard

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

const (
	twoStages = `[{name: "staging", targets: ["staging"]}, {name: "prod", targets: ["prod"]}]`
	prodGated = `[{name: "staging", targets: ["staging"]}, {name: "prod", targets: ["prod"], gate: {approvals: 1}}]`
)

// mark marks the page: a reload would lose the mark.
var mark = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	_, err := chromedp.Evaluate[any](`window.durableMarker = 1`)(ctx, t)
	return err
})

// splitShows is a JavaScript test of the page: the split of service on
// stage's target gives release weight, and the page was not reloaded
// since it was marked.
func splitShows(stage, release, weight string) string {
	return fmt.Sprintf(`(() => { const r = document.querySelector('#split-web-%s-%s tr[data-release="%s"]');
		return window.durableMarker === 1 && r !== null && %s; })()`, stage, stage, release, weight)
}

// TestDashboardDrivesARolloutInABrowser follows a rollout of v2 through a
// staging stage and a prod stage gated on one approval, in a headless
// Chromium logged in to the dashboard with a write token: the canary's
// split changes on the page without a reload; Approve (typed and
// submitted by keyboard) lifts prod's gate; a write without the CSRF
// token is refused; "roll back to this" on staging's warm v1 commits the
// rollback and traffic is all on v1 within 1s of the commit being seen.
func TestDashboardDrivesARolloutInABrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	// The dashboard pushes to the repository as --revert-on-failure does.
	if _, err := f.Repo.Git(ctx, "config", "receive.denyCurrentBranch", "updateInstead"); err != nil {
		t.Fatal(err)
	}
	urls := f.BehindRouters(ctx, t, twoStages, [2]string{"staging", "a"}, [2]string{"prod", "b"})
	st, _ := f.ServeV1(ctx, "Deploy web v1 to staging, then prod", urls...)
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v1 := s.Services[0].Release

	p := openBrowser(ctx, t)
	p.run("open the dashboard and log in with the write token",
		chromedp.Navigate(f.API.Base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login-token")),
		chromedp.SendKeys(chromedp.CSS("#login-token"), f.API.Token),
		chromedp.Submit(chromedp.CSS("#login-token")),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/ui/logout"]`)),
		mark)
	p.waitJS(ctx, "the page to go live", `document.getElementById("live-state").textContent === "live"`)
	p.waitJS(ctx, "v1 shown at 100% in staging", splitShows("staging", v1, `r.dataset.weight === "100"`))
	p.shot("v1-serving")

	f.SetStages(t, prodGated)
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2; prod needs an approval")
	v2 := f.Judged(ctx, t, c2).Services[0].Release
	p.waitJS(ctx, "the canary's split shown without a reload", splitShows("staging", v2, `r.dataset.weight !== "0" && r.dataset.weight !== "100"`))
	p.shot("canary-in-staging")
	p.waitJS(ctx, "prod's gate to wait for an approval", `window.durableMarker === 1 && document.getElementById("approve-web-prod") !== null`)
	p.shot("prod-gate-waits")

	p.run("approve v2 for prod by keyboard",
		chromedp.Focus(chromedp.CSS("#by-web-prod")),
		chromedp.SendKeys(chromedp.CSS("#by-web-prod"), "dana@example.test\r"),
		chromedp.WaitVisible(chromedp.CSS("#notice")))
	approval := commitIn(t, p.location())
	f.Converge(ctx, st, "v2 approved from the dashboard, through prod", approval, "v2")
	if s, err = f.API.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if g := s.Services[0].Stages[1].Gate; g == nil || len(g.Approvers) != 1 || g.Approvers[0] != "dana@example.test" {
		t.Fatalf("prod's gate after the approval: %+v", g)
	}
	p.run("mark the page again", mark)
	p.waitJS(ctx, "v2 shown at 100% in prod", splitShows("prod", v2, `r.dataset.weight === "100"`))
	p.shot("v2-everywhere")

	code, err := eval[int](p, fmt.Sprintf(`fetch("/ui/rollback", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
		body: "service=web&stage=staging&release=%s"}).then(r => r.status)`, v1))
	if err != nil {
		t.Fatalf("post a rollback without the CSRF token: %v", err)
	}
	if code != 403 {
		t.Fatalf("a rollback without the CSRF token: HTTP %d, want 403", code)
	}
	if s, err = f.API.Status(ctx); err != nil || s.Head.Commit != approval {
		t.Fatalf("after the refused write the head is %v (%v), want the approval %s", s.Head, err, approval)
	}

	p.run("roll back to staging's warm v1",
		chromedp.Click(chromedp.CSS("#rollback-web-staging-staging-"+v1[:12])))
	// The approval's notice is still on the page until the rollback's
	// answer replaces it: wait for the new commit in the address.
	p.waitJS(ctx, "the page to name the rollback's commit", fmt.Sprintf(
		`(c => c !== null && c.length === 40 && c !== %q)(new URLSearchParams(location.search).get("commit"))`, approval))
	rollback := commitIn(t, p.location())
	var seen time.Time
	e2etest.WaitFor(ctx, t, "the rollback commit to be seen", func() bool {
		s, err := f.API.Status(ctx)
		if err == nil && s.Head != nil && s.Head.Commit == rollback {
			seen = s.Head.SeenAt
		}
		return !seen.IsZero()
	})
	// The story's Promoted would ask that no request started after the
	// status first read converged got v2; the router may still answer one
	// that arrived a moment before its switch. What is promised is traffic on
	// the warm set within 1s of the commit being seen.
	e2etest.WaitFor(ctx, t, "the rollback to converge", func() bool {
		s, err := f.API.Status(ctx)
		return err == nil && harness.ServesCommit(s, rollback)
	})
	st.AssertSwitchedWithin1s(ctx, t, seen, "v2", "v1")
	p.run("mark the page again", mark)
	p.waitJS(ctx, "v1 shown at 100% in staging and prod again", splitShows("staging", v1, `r.dataset.weight === "100"`)+" && "+splitShows("prod", v1, `r.dataset.weight === "100"`))
	p.shot("rolled-back")
	assertRolledBackByCommit(ctx, t, f, rollback, v1)
	st.AssertNoFailedRequests(t)
}

// commitIn reads the commit a dashboard action redirected with.
func commitIn(t *testing.T, location string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil {
		t.Fatal(err)
	}
	c := u.Query().Get("commit")
	if len(c) != 40 {
		t.Fatalf("the action redirected to %s: no commit", location)
	}
	return c
}

// assertRolledBackByCommit checks the rollback in Git: a commit on the
// branch, by Durable, that changed release.cue alone.
func assertRolledBackByCommit(ctx context.Context, t *testing.T, f *e2etest.Fixture, commit, release string) {
	t.Helper()
	files, err := f.Repo.Git(ctx, "show", "--name-only", "--format=%an%n%s", commit)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(strings.TrimSpace(files))
	if !strings.HasPrefix(files, "Durable\nRoll web back to release "+release[:12]) || lines[len(lines)-1] != "release.cue" || strings.Count(files, ".cue") != 1 {
		t.Fatalf("the rollback commit:\n%s\nwant Durable's, changing release.cue alone", files)
	}
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Services[0].Release != release || s.Ready.Reason != api.ReasonConverged {
		t.Fatalf("after the rollback: desired %s, ready %+v", s.Services[0].Release, s.Ready)
	}
}
