package server

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

const (
	readToken  = "read-token-0123456789"
	writeToken = "write-token-0123456789"
	waiting    = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	warmRel    = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	commit     = "cccccccccccccccccccccccccccccccccccccccc"
)

// tokenAccess is the API's token file as the dashboard sees it.
type tokenAccess struct{ open Scope }

func (a tokenAccess) Scope(token string) Scope {
	switch token {
	case readToken:
		return ScopeRead
	case writeToken:
		return ScopeWrite
	}
	return ScopeNone
}
func (a tokenAccess) Open() Scope { return a.open }

// dashStatus is a reconciler whose status the test sets: a web service
// with a gate waiting at prod (signed or not) and a warm set in staging.
type dashStatus struct {
	mu sync.Mutex
	s  api.Status
}

func (f *dashStatus) Status(context.Context) (api.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s, nil
}
func (f *dashStatus) Trigger()       {}
func (f *dashStatus) Branch() string { return "main" }

func (f *dashStatus) set(fn func(*api.Status)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.s)
}

func statusWithGate(name string, signed bool) api.Status {
	split := &api.Split{Service: name, Backends: []api.Backend{{Set: "web-new", Release: waiting, Weight: 100}, {Set: "web-old", Release: warmRel, Weight: 0}}}
	return api.Status{Ready: api.Condition{Reason: api.ReasonProgressing, Message: "rolling out"},
		Services: []api.ServiceStatus{{Name: name, Release: waiting,
			Stages: []api.StageView{
				{Name: "staging", Serving: map[string]string{"a": waiting}, InFlight: map[string]string{}, Queue: []string{}},
				{Name: "prod", Serving: map[string]string{}, InFlight: map[string]string{}, Queue: []string{waiting},
					Gate: &api.GateView{Approvals: 1, Signed: signed, Release: waiting, Approvers: []string{}, Approve: "durable approve " + waiting[:12] + " --stage prod"}},
			},
			Placements: []api.PlacementStatus{{Stage: "staging", Target: "a", Serving: "web-new", Split: split,
				Sets: []api.SetStatus{{ID: "web-new", Release: waiting, State: api.SetServing}, {ID: "web-old", Release: warmRel, State: api.SetWarm}}}},
		}}}
}

// recordedActions records the writes the dashboard asks for.
type recordedActions struct {
	mu    sync.Mutex
	calls []string
}

func (r *recordedActions) Approve(_ context.Context, stage, release, by, reason string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, strings.Join([]string{"approve", stage, release, by, reason}, " "))
	return commit, nil
}

func (r *recordedActions) Rollback(_ context.Context, service, stage, release string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, strings.Join([]string{"rollback", service, stage, release}, " "))
	return commit, nil
}

func (r *recordedActions) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

type dashFixture struct {
	srv     *httptest.Server
	status  *dashStatus
	actions *recordedActions
	done    chan struct{}
}

// newDashboard serves the dashboard and the API as cmd does, with access
// (nil: none given) in each request's context, over TLS when tlsOn.
func newDashboard(t *testing.T, access Access, tlsOn bool) *dashFixture {
	t.Helper()
	st, err := journal.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, e := range []journal.Entry{{Kind: api.EntryDecision, EntryPoint: "gate", Result: "hold", Policy: "builtin/stage-gate", Reasons: []string{"needs <b>1</b> approval"}},
		{Kind: api.EntryEvent, Message: "<script>alert(1)</script>"}} {
		if _, err := st.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	f := &dashFixture{status: &dashStatus{s: statusWithGate("web", false)}, actions: &recordedActions{}, done: make(chan struct{})}
	dash := NewDashboard(DashboardConfig{Reconciler: f.status, Journal: st, Actions: f.actions, Done: f.done, Poll: 20 * time.Millisecond})
	h := WithDashboard(Handler(f.status, st, Webhooks{}), dash)
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if access != nil {
			req = req.WithContext(WithAccess(req.Context(), access))
		}
		h.ServeHTTP(w, req)
	})
	if tlsOn {
		f.srv = httptest.NewTLSServer(wrapped)
	} else {
		f.srv = httptest.NewServer(wrapped)
	}
	t.Cleanup(func() {
		close(f.done)
		f.srv.Close()
	})
	return f
}

// browser is a client that keeps cookies, follows no redirect, and sends
// the dashboard's Origin on writes unless told otherwise.
type browser struct {
	t      *testing.T
	c      *http.Client
	base   string
	origin string
}

func (f *dashFixture) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	c := f.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, c: c, base: f.srv.URL, origin: f.srv.URL}
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values, header ...string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) login(token string) *http.Response {
	b.t.Helper()
	resp, _ := b.post("/ui/login", url.Values{"token": {token}})
	return resp
}

// csrf reads the CSRF token of the page, as its forms carry it.
func (b *browser) csrf() string {
	b.t.Helper()
	_, page := b.get("/")
	_, rest, ok := strings.Cut(page, `name="csrf" value="`)
	if !ok {
		b.t.Fatalf("the page carries no CSRF token:\n%s", page)
	}
	tok, _, _ := strings.Cut(rest, `"`)
	return tok
}

func TestDashboardLoginSetsAStrictHttpOnlyCookie(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		f := newDashboard(t, tokenAccess{}, tlsOn)
		b := f.browser(t)
		if code, body := b.get("/"); code != http.StatusUnauthorized || !strings.Contains(body, `action="/ui/login"`) {
			t.Fatalf("GET / without a session: %d, want 401 and the login form:\n%s", code, body)
		}
		if resp := b.login("not-a-token-of-the-file"); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
			t.Fatalf("login with a wrong token: %d, cookies %v", resp.StatusCode, resp.Cookies())
		}
		if resp := b.login(strings.Repeat("w", 100<<10)); resp.StatusCode < 400 || len(resp.Cookies()) != 0 {
			t.Fatalf("login with a 100 KiB token: %d, cookies %v", resp.StatusCode, resp.Cookies())
		}
		resp := b.login(readToken)
		if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
			t.Fatalf("login: %d, cookies %v", resp.StatusCode, resp.Cookies())
		}
		c := resp.Cookies()[0]
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != tlsOn || c.Value == readToken {
			t.Errorf("TLS %v: cookie %+v: want HttpOnly, SameSite=Strict, Path=/, Secure only over TLS", tlsOn, c)
		}
		if code, body := b.get("/"); code != http.StatusOK || !strings.Contains(body, `id="split-web-staging-a"`) {
			t.Fatalf("GET / after login: %d:\n%s", code, body)
		}
	}
}

func TestDashboardLoginChecksTheOrigin(t *testing.T) {
	f := newDashboard(t, tokenAccess{}, false)
	b := f.browser(t)
	b.origin = ""
	if resp := b.login(writeToken); resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Errorf("login without Origin: %d", resp.StatusCode)
	}
	b.origin = "http://evil.example"
	if resp := b.login(writeToken); resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Errorf("login from another origin: %d", resp.StatusCode)
	}
}

func TestDashboardWithoutAccessAllowsNothing(t *testing.T) {
	f := newDashboard(t, nil, false)
	b := f.browser(t)
	if code, _ := b.get("/"); code != http.StatusUnauthorized {
		t.Errorf("GET / with no Access: %d, want 401", code)
	}
	if resp := b.login(writeToken); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login with no Access: %d, want 401", resp.StatusCode)
	}
}

func TestDashboardWritesNeedTheSessionsCSRFTokenAndOrigin(t *testing.T) {
	f := newDashboard(t, tokenAccess{open: ScopeRead}, false)
	b := f.browser(t)
	approve := func(csrf string, header ...string) int {
		resp, _ := b.post("/ui/approve", url.Values{"csrf": {csrf}, "stage": {"prod"}, "release": {waiting}, "by": {"ann@example.test"}}, header...)
		return resp.StatusCode
	}
	if code := approve(""); code != http.StatusUnauthorized {
		t.Errorf("approve without a session on an open-read listener: %d, want 401", code)
	}
	b.login(readToken)
	readCSRF := b.csrf()
	if code := approve(readCSRF); code != http.StatusForbidden {
		t.Errorf("approve with a read session: %d, want 403", code)
	}
	b.login(writeToken)
	good := b.csrf()
	if good == readCSRF {
		t.Fatal("two sessions have the same CSRF token: it is not bound to the session")
	}
	for name, code := range map[string]int{
		"no CSRF token":           approve(""),
		"another session's token": approve(readCSRF),
		"a forged token":          approve(strings.Repeat("0", 64)),
		"cross-site fetch":        approve(good, "Sec-Fetch-Site", "cross-site"),
		"another Origin":          approve(good, "Origin", "http://evil.example"),
		"Origin null":             approve(good, "Origin", "null"),
	} {
		if code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, code)
		}
	}
	b.origin = ""
	if code := approve(good); code != http.StatusForbidden {
		t.Errorf("no Origin: %d, want 403", code)
	}
	if calls := f.actions.list(); len(calls) != 0 {
		t.Fatalf("refused writes reached the actions: %q", calls)
	}
	b.origin = b.base
	resp, body := b.post("/ui/approve", url.Values{"csrf": {good}, "stage": {"prod"}, "release": {waiting}, "by": {"ann@example.test"}, "reason": {"ok"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "commit="+commit) {
		t.Fatalf("approve: %d %s: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if calls := f.actions.list(); len(calls) != 1 || calls[0] != "approve prod "+waiting+" ann@example.test ok" {
		t.Fatalf("actions %q", calls)
	}
	if code, page := b.get(resp.Header.Get("Location")); code != http.StatusOK || !strings.Contains(page, "Approval committed: commit "+commit[:12]) {
		t.Errorf("the page after the approval: %d, no notice", code)
	}
}

func TestDashboardScopeShapesThePage(t *testing.T) {
	f := newDashboard(t, tokenAccess{open: ScopeRead}, false)
	b := f.browser(t)
	_, anon := b.get("/")
	b.login(readToken)
	_, read := b.get("/")
	for name, page := range map[string]string{"anonymous": anon, "read": read} {
		if strings.Contains(page, `action="/ui/approve"`) || strings.Contains(page, `action="/ui/rollback"`) {
			t.Errorf("%s page offers writes", name)
		}
		if !strings.Contains(page, "durable approve "+waiting[:12]+" --stage prod") || !strings.Contains(page, "log in with a write token to roll back to it") {
			t.Errorf("%s page does not say how to approve and roll back", name)
		}
	}
	b.login(writeToken)
	_, write := b.get("/")
	for _, want := range []string{`action="/ui/approve"`, `action="/ui/rollback"`, `id="rollback-web-staging-a-` + warmRel[:12] + `"`, `<label for="by-web-prod">`} {
		if !strings.Contains(write, want) {
			t.Errorf("write page lacks %s", want)
		}
	}
	// A gate that counts signed approvals only shows the command, never a
	// button, and refuses a forged approval.
	f.status.set(func(s *api.Status) { *s = statusWithGate("web", true) })
	_, signed := b.get("/")
	if strings.Contains(signed, `action="/ui/approve"`) || !strings.Contains(signed, "Signed approvals only") {
		t.Errorf("signed gate page:\n%s", signed)
	}
	resp, body := b.post("/ui/approve", url.Values{"csrf": {b.csrf()}, "stage": {"prod"}, "release": {waiting}, "by": {"ann"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "durable approve") || len(f.actions.list()) != 0 {
		t.Errorf("approve on a signed gate: %d %s", resp.StatusCode, body)
	}
}

func TestDashboardRefusesHostileForms(t *testing.T) {
	f := newDashboard(t, tokenAccess{}, false)
	b := f.browser(t)
	b.login(writeToken)
	csrf := b.csrf()
	for name, tc := range map[string]struct {
		path string
		form url.Values
		want int
	}{
		"path as stage":        {"/ui/approve", url.Values{"stage": {"../prod"}, "release": {waiting}, "by": {"a"}}, 400},
		"markup as release":    {"/ui/approve", url.Values{"stage": {"prod"}, "release": {"<script>"}, "by": {"a"}}, 400},
		"release not waiting":  {"/ui/approve", url.Values{"stage": {"prod"}, "release": {warmRel}, "by": {"a"}}, 409},
		"stage without a gate": {"/ui/approve", url.Values{"stage": {"staging"}, "release": {waiting}, "by": {"a"}}, 409},
		"release not warm":     {"/ui/rollback", url.Values{"service": {"web"}, "stage": {"staging"}, "release": {waiting}}, 409},
		"unknown service":      {"/ui/rollback", url.Values{"service": {"nope"}, "stage": {"staging"}, "release": {warmRel}}, 409},
		"huge service":         {"/ui/rollback", url.Values{"service": {strings.Repeat("s", 300)}, "stage": {"staging"}, "release": {warmRel}}, 400},
		"oversized body":       {"/ui/rollback", url.Values{"service": {strings.Repeat("s", 100<<10)}, "stage": {"staging"}, "release": {warmRel}}, 413},
	} {
		tc.form.Set("csrf", csrf)
		resp, body := b.post(tc.path, tc.form)
		if resp.StatusCode != tc.want || strings.Contains(body, "<script>") {
			t.Errorf("%s: %d, want %d: %s", name, resp.StatusCode, tc.want, body)
		}
	}
	if calls := f.actions.list(); len(calls) != 0 {
		t.Fatalf("hostile forms reached the actions: %q", calls)
	}
	resp, _ := b.post("/ui/rollback", url.Values{"csrf": {csrf}, "service": {"web"}, "stage": {"staging"}, "release": {warmRel}})
	if calls := f.actions.list(); resp.StatusCode != http.StatusSeeOther || len(calls) != 1 || calls[0] != "rollback web staging "+warmRel {
		t.Fatalf("rollback: %d, actions %q", resp.StatusCode, calls)
	}
}

func TestDashboardEscapesWhatItShows(t *testing.T) {
	f := newDashboard(t, tokenAccess{open: ScopeRead}, false)
	f.status.set(func(s *api.Status) {
		*s = statusWithGate(`<img src=x onerror=alert(1)>`, false)
		s.Ready.Message = `<script>alert("ready")</script>`
	})
	b := f.browser(t)
	code, page := b.get("/?done=approved&commit=<script>")
	if code != http.StatusOK {
		t.Fatalf("GET /: %d", code)
	}
	for _, bad := range []string{"<script>alert", "<img src=x", "<b>1</b>", "Approval committed"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page shows %q unescaped (or a notice it was not given)", bad)
		}
	}
	if !strings.Contains(page, "needs &lt;b&gt;1&lt;/b&gt; approval") {
		t.Error("the page does not show the decision's reason")
	}
	resp, err := b.c.Get(b.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v: want a CSP allowing own scripts only, and no framing", resp.Header)
	}
	if code, js := b.get("/ui/assets/live.js"); code != http.StatusOK || !strings.Contains(js, "EventSource") {
		t.Errorf("the script: %d", code)
	}
}

func TestEventsStreamTheStatusAsItChanges(t *testing.T) {
	f := newDashboard(t, tokenAccess{}, false)
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/v1/events", nil)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("events without a token: %d, want 401", resp.StatusCode)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+readToken)
	resp, err = f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(nil, 1<<20)
	next := func() string {
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				return data
			}
		}
		t.Fatalf("the stream ended: %v", lines.Err())
		return ""
	}
	if first := next(); !strings.Contains(first, `"reason":"Progressing"`) {
		t.Fatalf("first event %s", first)
	}
	f.status.set(func(s *api.Status) { s.Ready = api.Condition{Status: true, Reason: api.ReasonConverged} })
	if second := next(); !strings.Contains(second, `"reason":"Converged"`) {
		t.Fatalf("second event %s: want the changed status", second)
	}
}

// A canary step shows its goals and each analysis signal against the
// threshold the reconciler applied.
func TestDashboardShowsCanaryProgressAgainstItsGoals(t *testing.T) {
	f := newDashboard(t, tokenAccess{open: ScopeRead}, false)
	now := time.Now()
	f.status.set(func(s *api.Status) {
		svc := &s.Services[0]
		svc.Strategy = &api.StrategyView{Kind: "canary", Steps: []api.StepGoal{
			{Weight: 10, BakeTime: api.Duration{Duration: 2 * time.Second}, BakeRequests: 50},
			{Weight: 50, BakeTime: api.Duration{Duration: 30 * time.Second}, BakeRequests: 100,
				Analysis: &api.Thresholds{MaxErrorRate: 0.01, MaxErrorRateIncrease: 0.02, MinRequests: 20}}}}
		s.Time = now
		pl := &svc.Placements[0]
		pl.Sets[0].Step = &api.SetMetrics{Requests: 42}
		pl.Rollout = &api.Rollout{Phase: api.RolloutCanary, Set: "web-new", Release: waiting, Step: 2, StepStartedAt: now.Add(-12 * time.Second),
			Analysis: "canary step 2/2 baking", Signals: []api.Signal{
				{Name: "error-rate", Canary: 0.005, Baseline: 0.001, Threshold: 0.01, Verdict: "pass"},
				{Name: "latency-p90", Canary: 0.120, Baseline: 0.100, Threshold: 0.2, Verdict: "inconclusive"}}}
	})
	_, page := f.browser(t).get("/")
	for _, want := range []string{"Canary step 2 of 2 at 50%", "12s of 30s", "42 of 100", "error rate ≤ 1.00%", "increase over the serving set ≤ 2.00%",
		"<td>error-rate</td><td>0.50%</td><td>0.10%</td><td>1.00%</td><td>pass</td>", "<td>latency-p90</td><td>120 ms</td><td>100 ms</td><td>200 ms</td><td>inconclusive</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// The merge queue of durable run --queue shows in queue order, the
// waiting with their place, an ejection with its reason and lines,
// escaped; no queue, no section; an empty one says how to enqueue; one
// that cannot be read says why.
func TestDashboardShowsTheMergeQueue(t *testing.T) {
	f := newDashboard(t, tokenAccess{open: ScopeRead}, false)
	at := time.Date(2026, 12, 6, 12, 30, 0, 0, time.UTC)
	b := f.browser(t)
	if _, page := b.get("/"); strings.Contains(page, "Merge queue") {
		t.Fatal("the page shows a queue where none runs")
	}
	f.status.set(func(s *api.Status) {
		s.Queue = &api.QueueStatus{Waiting: 1, Proposals: []api.QueueProposal{
			{Seq: 7, Branch: "queue/web-v2", Head: commit, State: api.ProposalLanded, Added: at, Since: at.Add(time.Minute), Candidate: waiting, Method: "field-merge"},
			{Seq: 8, Branch: "queue/db", Head: commit, State: api.ProposalEjected, Added: at, Since: at, Reason: "admission", Reasons: []string{`deny: <script>alert("queue")</script>`}},
			{Seq: 9, Branch: "queue/cache", Head: commit, State: api.ProposalQueued, Position: 1, Added: at.Add(time.Hour), Since: at.Add(time.Hour)},
		}}
	})
	_, page := b.get("/")
	want := []string{"Merge queue <small>1 waiting</small>",
		`<tr id="proposal-7" data-state="landed"><td></td><td>#7 queue/web-v2</td><td><code>cccccccccccc</code></td><td>landed</td><td>12:31:00</td><td>12:30:00</td><td><code>aaaaaaaaaaaa</code> by field-merge</td>`,
		`<tr id="proposal-8" data-state="ejected"><td></td><td>#8 queue/db</td>`, `<strong>admission</strong><br>deny: &lt;script&gt;alert(&#34;queue&#34;)&lt;/script&gt;`,
		`<tr id="proposal-9" data-state="queued"><td>1</td><td>#9 queue/cache</td>`}
	last := -1
	for _, w := range want {
		i := strings.Index(page, w)
		if i < 0 || i < last {
			t.Fatalf("the page lacks %q after what comes before it:\n%s", w, page)
		}
		last = i
	}
	if strings.Contains(page, `<script>alert("queue")`) {
		t.Fatal("the page shows an ejection's reason unescaped")
	}
	f.status.set(func(s *api.Status) { s.Queue = &api.QueueStatus{Proposals: []api.QueueProposal{}} })
	if _, page := b.get("/"); !strings.Contains(page, "Merge queue <small>0 waiting</small>") || !strings.Contains(page, "No proposal: push a branch as <code>queue/NAME</code>") {
		t.Fatalf("the page does not show an empty queue:\n%s", page)
	}
	f.status.set(func(s *api.Status) {
		s.Queue = &api.QueueStatus{Proposals: []api.QueueProposal{}, Error: "queue state /s/queue.db: not a queue's state file"}
	})
	if _, page := b.get("/"); !strings.Contains(page, "The queue's state cannot be read: queue state /s/queue.db: not a queue&#39;s state file") || strings.Contains(page, "No proposal") {
		t.Fatalf("the page does not say the queue cannot be read:\n%s", page)
	}
}
