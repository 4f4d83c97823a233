package listener

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Policy says which calls need a credential. A call that presents a token
// the file does not hold is refused even where none is needed.
type Policy struct {
	// Tokens are the accepted bearer tokens; nil accepts none.
	Tokens *Tokens
	// OpenReads lets GET and HEAD through without a credential.
	OpenReads bool
	// OpenWrites lets every call through without a credential (a Unix
	// socket, whose mode and group are the credential).
	OpenWrites bool
	// Realm names the API in WWW-Authenticate and messages.
	Realm string
}

// Guard lets a call through to h when p allows it: 401 with
// WWW-Authenticate: Bearer without a valid token, 403 when the token's
// scope is too small. GET /healthz is always open.
func Guard(h http.Handler, p Policy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		need := Write
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			need = Read
		}
		if need == Read && req.URL.Path == "/healthz" {
			h.ServeHTTP(w, req)
			return
		}
		auth := req.Header.Get("Authorization")
		if auth == "" {
			if p.OpenWrites || need == Read && p.OpenReads {
				h.ServeHTTP(w, req)
				return
			}
			refuse(w, p, http.StatusUnauthorized, "", "this call needs a "+need.String()+" token: pass --token-file FILE (or set $DURABLE_TOKEN_FILE) with a `"+need.String()+" TOKEN` line of the server's token file")
			return
		}
		scheme, tok, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			refuse(w, p, http.StatusUnauthorized, "invalid_request", "send the token as `Authorization: Bearer TOKEN`")
			return
		}
		got := p.Tokens.Scope(strings.TrimSpace(tok))
		switch {
		case got == NoScope:
			refuse(w, p, http.StatusUnauthorized, "invalid_token", "the token is not in the server's token file: use a token from it")
		case got < need:
			refuse(w, p, http.StatusForbidden, "insufficient_scope", "this call needs a write token and a read token was given: use a `write TOKEN` line of the server's token file")
		default:
			h.ServeHTTP(w, req)
		}
	})
}

func refuse(w http.ResponseWriter, p Policy, code int, errCode, msg string) {
	realm := p.Realm
	if realm == "" {
		realm = "durable"
	}
	challenge := `Bearer realm="` + realm + `"`
	if errCode != "" {
		challenge += `, error="` + errCode + `"`
	}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": realm + ": " + msg})
}
