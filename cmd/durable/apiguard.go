package main

import (
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/durable-delivery/durable/internal/listener"
	"github.com/durable-delivery/durable/server"
)

// apiPolicy reads the API's tokens — --token-file, or STATE/api-tokens,
// created with one random write token the first time — and returns what
// guards the API on a listener of a given kind: writes always need a write
// token (or the 0660 socket); reads on loopback need none unless
// --token-for-reads; on TLS every call needs a token. A delivery to a
// webhook receiver needs none: its signature is its credential, which the
// receiver checks. The dashboard checks its own session (the token in a
// cookie) against the same policy.
func apiPolicy(log *slog.Logger, o runOptions) (func(http.Handler, listener.Kind) http.Handler, error) {
	file := o.tokenFile
	if file == "" {
		file = filepath.Join(o.stateDir, apiTokensFile)
		created, err := listener.EnsureTokenFile(file)
		if err != nil {
			return nil, err
		}
		if created {
			log.Info("created the API's token file with a write token; clients read it with --token-file", "file", file)
		}
	}
	tokens, err := listener.LoadTokens(file)
	if err != nil {
		return nil, err
	}
	log.Info("API tokens", "file", file)
	return func(h http.Handler, kind listener.Kind) http.Handler {
		p := listener.Policy{Tokens: tokens, Realm: "durable API"}
		switch kind {
		case listener.Unix:
			p.OpenReads, p.OpenWrites = true, true
		case listener.Loopback:
			p.OpenReads = !o.readTokens
		}
		guarded := listener.Guard(h, p)
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if server.IsWebhook(req) {
				h.ServeHTTP(w, req)
				return
			}
			if server.IsDashboard(req) { // it checks its session cookie itself
				h.ServeHTTP(w, req.WithContext(server.WithAccess(req.Context(), dashboardAccess{p})))
				return
			}
			guarded.ServeHTTP(w, req)
		})
	}, nil
}
