package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
)

// Scope is what a credential allows on the dashboard, as on the API.
type Scope int

// Scopes, each including the one before.
const (
	ScopeNone Scope = iota
	ScopeRead
	ScopeWrite
)

// Access says what a credential allows on the listener a request came in
// on; cmd builds it from the API's token file and the listener's kind.
type Access interface {
	// Scope returns what token allows: ScopeNone when the token file does
	// not hold it.
	Scope(token string) Scope
	// Open is what a call is allowed with no credential: reads on
	// loopback, everything on the 0660 Unix socket, nothing on TLS.
	Open() Scope
}

type accessKey struct{}

// WithAccess returns ctx carrying the dashboard's Access for its request.
func WithAccess(ctx context.Context, a Access) context.Context {
	return context.WithValue(ctx, accessKey{}, a)
}

// sessionCookie holds the API token (base64url), HttpOnly, SameSite=Strict.
const sessionCookie = "durable_session"

// maxTokenLen is the longest token a token file holds.
const maxTokenLen = 512

// session is who a request comes from: the token it presents (in the
// session cookie, or as a bearer token) and what it may do.
type session struct {
	token    string
	loggedIn bool
	scope    Scope
}

func (d *dashboard) session(req *http.Request) session {
	a, _ := req.Context().Value(accessKey{}).(Access)
	if a == nil {
		return session{}
	}
	s := session{scope: a.Open()}
	token := ""
	if c, err := req.Cookie(sessionCookie); err == nil {
		if b, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			token = string(b)
		}
	}
	if scheme, tok, ok := strings.Cut(req.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		token = strings.TrimSpace(tok)
	}
	if token == "" || len(token) > maxTokenLen {
		return s
	}
	if got := a.Scope(token); got > ScopeNone {
		s.token, s.loggedIn = token, true
		s.scope = max(s.scope, got)
	}
	return s
}

// csrf is the session's CSRF token: an HMAC of its API token under a key
// of this process, so that it is bound to the session and worthless
// elsewhere.
func (d *dashboard) csrf(s session) string {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte("csrf\x00" + s.token))
	return hex.EncodeToString(m.Sum(nil))
}

// sameOrigin reports whether a write comes from the dashboard's own page:
// its Origin is this server's, and the browser does not say it is
// cross-site. A write without an Origin is refused: every browser sends one
// on a POST.
func sameOrigin(req *http.Request) (string, bool) {
	origin := req.Header.Get("Origin")
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	switch {
	case origin == "":
		return "the request has no Origin header; use the dashboard's own forms", false
	case origin != scheme+"://"+req.Host:
		return "the request comes from another origin than this dashboard's", false
	case req.Header.Get("Sec-Fetch-Site") != "" && req.Header.Get("Sec-Fetch-Site") != "same-origin":
		return "the browser says the request is cross-site", false
	}
	return "", true
}

// writer checks a write: same origin, a session with write scope, and the
// session's CSRF token in the form. It answers the refusal itself.
func (d *dashboard) writer(w http.ResponseWriter, req *http.Request) (session, bool) {
	if why, ok := sameOrigin(req); !ok {
		d.fail(w, req, http.StatusForbidden, why)
		return session{}, false
	}
	s := d.session(req)
	if s.scope < ScopeWrite {
		code := http.StatusForbidden
		if !s.loggedIn {
			code = http.StatusUnauthorized
		}
		d.fail(w, req, code, "this needs a write token: log in with a `write TOKEN` line of the server's token file")
		return s, false
	}
	if err := req.ParseForm(); err != nil {
		d.fail(w, req, http.StatusRequestEntityTooLarge, "the form could not be read: "+err.Error())
		return s, false
	}
	if !hmac.Equal([]byte(req.PostForm.Get("csrf")), []byte(d.csrf(s))) {
		d.fail(w, req, http.StatusForbidden, "the form's CSRF token is missing or is not this session's: reload the page and try again")
		return s, false
	}
	return s, true
}

func (d *dashboard) login(w http.ResponseWriter, req *http.Request) {
	if why, ok := sameOrigin(req); !ok {
		d.fail(w, req, http.StatusForbidden, why)
		return
	}
	if err := req.ParseForm(); err != nil {
		d.fail(w, req, http.StatusRequestEntityTooLarge, "the form could not be read: "+err.Error())
		return
	}
	token := strings.TrimSpace(req.PostForm.Get("token"))
	a, _ := req.Context().Value(accessKey{}).(Access)
	if token == "" || len(token) > maxTokenLen || a == nil || a.Scope(token) == ScopeNone {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		d.render(w, "login", loginView{Error: "That token is not in the server's token file. Use a line of it (durable run's --token-file, or STATE/api-tokens)."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(token)), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: req.TLS != nil})
	http.Redirect(w, req, "/", http.StatusSeeOther)
}

func (d *dashboard) logout(w http.ResponseWriter, req *http.Request) {
	if why, ok := sameOrigin(req); !ok {
		d.fail(w, req, http.StatusForbidden, why)
		return
	}
	if err := req.ParseForm(); err != nil || !hmac.Equal([]byte(req.PostForm.Get("csrf")), []byte(d.csrf(d.session(req)))) {
		d.fail(w, req, http.StatusForbidden, "the form's CSRF token is missing or is not this session's: reload the page and try again")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: req.TLS != nil})
	http.Redirect(w, req, "/", http.StatusSeeOther)
}
