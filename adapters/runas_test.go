package adapters

import (
	"strings"
	"testing"
)

// TestLookupRunAs resolves a user by name and by uid, to the same user, and
// refuses what names none, saying why.
func TestLookupRunAs(t *testing.T) {
	byName, err := LookupRunAs("nobody")
	if err != nil {
		t.Fatalf("this host has no user nobody (every Debian has): %v", err)
	}
	byID, err := LookupRunAs("65534")
	if err != nil || *byID != *byName {
		t.Errorf("by uid: %+v, %v; by name: %+v", byID, err, byName)
	}
	for in, want := range map[string]string{
		"":                         "the user is empty",
		strings.Repeat("u", 33):    "longer than 32 characters",
		"root\n":                   "a user name has only letters",
		"a b":                      "a user name has only letters",
		"durable-no-such-user":     `user "durable-no-such-user": `,
		"99999999999999999999":     `user "99999999999999999999": `,
		"nobody\x00":               "a user name has only letters",
		strings.Repeat("9", 1<<16): "longer than 32 characters",
	} {
		if _, err := LookupRunAs(in); err == nil || !strings.Contains(err.Error(), want) || len(err.Error()) > 512 {
			t.Errorf("LookupRunAs(%.40q) = %v, want an error saying %q", in, err, want)
		}
	}
}
