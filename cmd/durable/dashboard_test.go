package main

import (
	"path/filepath"
	"testing"

	"github.com/durable-delivery/durable/internal/listener"
	"github.com/durable-delivery/durable/server"
)

// The dashboard asks the API's token policy of each listener: what a
// token allows, and what a call without one may do there.
func TestDashboardAccessFollowsTheAPIsPolicy(t *testing.T) {
	file := filepath.Join(t.TempDir(), "api-tokens")
	if _, err := listener.EnsureTokenFile(file); err != nil {
		t.Fatal(err)
	}
	tokens, err := listener.LoadTokens(file)
	if err != nil {
		t.Fatal(err)
	}
	write := tokens.ClientToken()
	for name, tc := range map[string]struct {
		p    listener.Policy
		open server.Scope
	}{
		"TLS":                {listener.Policy{Tokens: tokens}, server.ScopeNone},
		"loopback":           {listener.Policy{Tokens: tokens, OpenReads: true}, server.ScopeRead},
		"Unix socket (0660)": {listener.Policy{Tokens: tokens, OpenReads: true, OpenWrites: true}, server.ScopeWrite},
	} {
		a := dashboardAccess{tc.p}
		if a.Open() != tc.open || a.Scope(write) != server.ScopeWrite || a.Scope(write+"x") != server.ScopeNone || a.Scope("") != server.ScopeNone {
			t.Errorf("%s: open %v, write token %v, another %v; want open %v, the write token write, others none",
				name, a.Open(), a.Scope(write), a.Scope(write+"x"), tc.open)
		}
	}
}
