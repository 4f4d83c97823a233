package server

import (
	"context"
	"crypto/rand"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Actions are the writes the dashboard offers. Each is a commit on the
// branch the reconciler follows, so that Git keeps saying what runs.
type Actions interface {
	// Approve commits an approval of release for stage by by (why: reason)
	// and returns the commit.
	Approve(ctx context.Context, stage, release, by, reason string) (string, error)
	// Rollback commits the fields of service as they were when it was
	// release (the release of a warm set of stage), and returns the
	// commit; the reconciler then switches traffic to the warm sets.
	Rollback(ctx context.Context, service, stage, release string) (string, error)
}

// DashboardConfig is what the dashboard reads and what it may do.
type DashboardConfig struct {
	Reconciler Reconciler
	Journal    Journal
	// Actions are the writes; nil offers none.
	Actions Actions
	// Done is closed when the server stops: event streams end then.
	Done <-chan struct{}
	// Poll is how often an event stream reads the status (default 500ms).
	Poll time.Duration
}

//go:embed dashboard
var dashboardFiles embed.FS

// The page's templates and its assets, embedded: a template that does not
// parse fails every test of the package. The templates are parsed when a
// dashboard is first made, not when the program starts (a millisecond of
// every command's start-up).
var (
	dashboardPage = sync.OnceValue(func() *template.Template {
		return template.Must(template.New("page").Funcs(viewFuncs).ParseFS(dashboardFiles, "dashboard/*.html"))
	})
	dashboardAssets, _ = fs.Sub(dashboardFiles, "dashboard/assets")
)

// Limits of the dashboard.
const (
	// maxStreams bounds the event streams served at once: each reads the
	// status every Poll.
	maxStreams = 32
	// journalTail is how many journal entries the page shows; decisions
	// are the newest few among the last decisionScan entries.
	journalTail    = 25
	decisionScan   = 500
	decisionsShown = 10
)

type dashboard struct {
	cfg     DashboardConfig
	page    *template.Template
	key     []byte // signs CSRF tokens; new each start
	streams chan struct{}
}

// NewDashboard returns the dashboard's handler:
//
//	GET  /                 the page (the login form without read access)
//	GET  /ui/main          the page's live part, for the embedded script
//	GET  /ui/assets/NAME   the style sheet and the script
//	POST /ui/login         token → HttpOnly, SameSite=Strict session cookie
//	POST /ui/logout        ends the session
//	POST /ui/approve       commit an approval (write scope, CSRF token, Origin)
//	POST /ui/rollback      commit a rollback to a warm set (likewise)
//	GET  /v1/events        server-sent events: the status each time it changes
//
// Who may read and write comes from the Access of the request's context
// (WithAccess); without one, nothing is allowed.
func NewDashboard(cfg DashboardConfig) http.Handler {
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	d := &dashboard{cfg: cfg, page: dashboardPage(), key: make([]byte, 32), streams: make(chan struct{}, maxStreams)}
	_, _ = rand.Read(d.key) // crypto/rand never fails: it crashes the program instead
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.servePage)
	mux.HandleFunc("GET /ui/main", d.serveMain)
	mux.Handle("GET /ui/assets/", http.StripPrefix("/ui/assets/", http.FileServerFS(dashboardAssets)))
	mux.HandleFunc("POST /ui/login", d.login)
	mux.HandleFunc("POST /ui/logout", d.logout)
	mux.HandleFunc("POST /ui/approve", d.approve)
	mux.HandleFunc("POST /ui/rollback", d.rollback)
	mux.HandleFunc("GET /v1/events", d.events)
	return securityHeaders(limitBody(mux))
}

// IsDashboard reports whether req is for the dashboard, which checks its
// own credentials (a session cookie, or a bearer token on /v1/events).
func IsDashboard(req *http.Request) bool {
	p := req.URL.Path
	return p == "/" || strings.HasPrefix(p, "/ui/") || p == "/v1/events"
}

// WithDashboard serves the dashboard's requests with dashboard, the rest
// with api.
func WithDashboard(api, dashboard http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if IsDashboard(req) {
			dashboard.ServeHTTP(w, req)
			return
		}
		api.ServeHTTP(w, req)
	})
}

// securityHeaders keeps the page to its own origin: no inline script or
// style, no framing, no referrer to elsewhere.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, req)
	})
}
