package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/listener"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/server"
)

// journalIn writes a small legal journal in a new state directory.
func journalIn(t *testing.T) (stateDir string) {
	t.Helper()
	stateDir = t.TempDir()
	st, err := journal.OpenBolt(filepath.Join(stateDir, "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, e := range []journal.Entry{
		{Kind: api.EntryDecision, Result: "allow", Set: "s1"},
		{Kind: api.EntryIntent, Action: api.ActionCreateSet, Set: "s1", Decision: 1},
		{Kind: api.EntryOutcome, Action: api.ActionCreateSet, Set: "s1", Intent: 2},
	} {
		if _, err := st.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	return stateDir
}

func TestJournalBackupAndCheckOfAStoppedReconciler(t *testing.T) {
	state := journalIn(t)
	file := filepath.Join(t.TempDir(), "backup.db")
	code, out, errOut := durable(t, "", "journal", "backup", file, "--state", state)
	if code != exitOK || !strings.Contains(out, "3 entries (the newest #3), checked") {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errOut)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	code, out, errOut = durable(t, "", "journal", "check", "--state", state)
	if code != exitOK || !strings.Contains(out, "no breach") {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}
	// A journal with an intent no decision allowed.
	st, err := journal.OpenBolt(filepath.Join(state, "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(context.Background(), journal.Entry{Kind: api.EntryIntent, Action: api.ActionRemoveSet, Set: "s1"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, _ = durable(t, "", "journal", "check", "--state", state)
	if code != exitFailed || !strings.Contains(out, "intent #4 (remove-set s1): cites decision #0, which is no earlier decision") {
		t.Fatalf("check of a breached journal: exit %d\n%s", code, out)
	}
	code, _, errOut = durable(t, "", "journal", "backup", file, "--state", state)
	if code != exitFailed || !strings.Contains(errOut, "breaks the journal's invariants") {
		t.Fatalf("backup of a breached journal: exit %d\n%s", code, errOut)
	}
	if _, err := journal.OpenBolt(file, journal.BoltOptions{ReadOnly: true}); err != nil {
		t.Fatalf("the earlier backup was lost: %v", err)
	}
}

// TestJournalBackupOfARunningReconciler: the journal is held (as durable
// run holds it), so the copy comes through the API, whose guard wants a
// write token on loopback.
func TestJournalBackupOfARunningReconciler(t *testing.T) {
	state := journalIn(t)
	st, err := journal.OpenBolt(filepath.Join(state, "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tokensFile := filepath.Join(t.TempDir(), "tokens")
	write, read := strings.Repeat("w", 32), strings.Repeat("r", 32)
	if err := os.WriteFile(tokensFile, []byte("write "+write+"\nread "+read+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := listener.LoadTokens(tokensFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(listener.Guard(server.Handler(nil, st, server.Webhooks{}), listener.Policy{Tokens: tokens, OpenReads: true}))
	defer srv.Close()
	readOnly := filepath.Join(t.TempDir(), "read-tokens")
	if err := os.WriteFile(readOnly, []byte("read "+read+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "backup.db")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no token", nil, exitFailed, "needs a write token"},
		{"a read token", []string{"--token-file", readOnly}, exitFailed, "a read token was given"},
		{"a write token", []string{"--token-file", tokensFile}, exitOK, "journal copied from the reconciler's API"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"journal", "backup", file, "--state", state, "--api", srv.URL}, c.args...)
			code, out, errOut := durable(t, "", args...)
			if code != c.code || !strings.Contains(out+errOut, c.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s%s", code, c.code, c.want, out, errOut)
			}
		})
	}
	code, out, errOut := durable(t, "", "journal", "check", "--state", state, "--api", srv.URL, "--token-file", tokensFile)
	if code != exitOK || !strings.Contains(out, "no breach") {
		t.Fatalf("check through the API: exit %d\n%s%s", code, out, errOut)
	}
	// The copy is not the live journal: writes go on in it alone.
	if _, err := st.Append(context.Background(), journal.Entry{Kind: api.EntryEvent, Message: "after"}); err != nil {
		t.Fatal(err)
	}
	copied, err := journal.OpenBolt(file, journal.BoltOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer copied.Close()
	if es, _ := copied.Entries(context.Background(), 0, 0); len(es) != 3 {
		t.Fatalf("the copy holds %d entries, want the 3 there when it was taken", len(es))
	}
}

func TestJournalCommandRefusals(t *testing.T) {
	state := journalIn(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no file", []string{"journal", "backup"}, exitUsage, "accepts 1 arg"},
		{"an empty file name", []string{"journal", "backup", "", "--state", state}, exitUsage, "FILE is empty"},
		{"two files", []string{"journal", "backup", "a", "b"}, exitUsage, "accepts 1 arg"},
		{"a directory", []string{"journal", "backup", dir, "--state", state}, exitFailed, "not a regular file"},
		{"a missing directory", []string{"journal", "backup", filepath.Join(dir, "no", "x.db"), "--state", state}, exitFailed, "directory must exist"},
		{"a state without a journal", []string{"journal", "backup", filepath.Join(dir, "x.db"), "--state", dir}, exitFailed, "--state " + dir},
		{"the journal itself", []string{"journal", "backup", filepath.Join(state, "journal.db"), "--state", state}, exitFailed, "journal in use"},
		{"no reconciler and no state", []string{"journal", "backup", filepath.Join(dir, "x.db"), "--api", "127.0.0.1:1"}, exitFailed, "pass --state DIR"},
		{"printing with no reconciler", []string{"journal", "--api", "127.0.0.1:1"}, exitFailed, "connection refused"},
		{"check with arguments", []string{"journal", "check", "x"}, exitUsage, "accepts 0 arg"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := durable(t, "", c.args...)
			if code != c.code || !strings.Contains(out+errOut, c.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s%s", code, c.code, c.want, out, errOut)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused backups left %d files in %s", len(entries), dir)
	}
}

func TestJournalRetentionFlag(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"0", 0, ""},
		{"30d", 30 * 24 * time.Hour, ""},
		{"720h", 720 * time.Hour, ""},
		{"1h", time.Hour, ""},
		{"36500d", maxRetention, ""},
		{"59m", 0, "out of range"},
		{"-1h", 0, "out of range"},
		{"36501d", 0, "not a number of days"},
		{"99999999999999999999d", 0, "not a number of days"},
		{"-3d", 0, "not a number of days"},
		{"d", 0, "not a number of days"},
		{"soon", 0, "invalid duration"},
		{"", 0, "invalid duration"},
		{strings.Repeat("9", 10000) + "h", 0, "invalid duration"},
	} {
		got, err := parseRetention(c.in)
		if c.err == "" && (err != nil || got != c.want) || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("parseRetention(%.20q) = %s, %v; want %s, %q", c.in, got, err, c.want, c.err)
		}
	}
	code, _, errOut := durable(t, "", "run", "--repo", t.TempDir(), "--journal-retention", "5m")
	if code != exitUsage || !strings.Contains(errOut, "--journal-retention") || !strings.Contains(errOut, "30d") {
		t.Fatalf("run --journal-retention 5m: exit %d: %s", code, errOut)
	}
	var d time.Duration
	addRetentionFlag(newRoot().Flags(), &d)
	if d != defaultRetention || (retentionFlag{&d}).String() != "30d" {
		t.Fatalf("default %s (%s), want 30d", d, retentionFlag{&d})
	}
}
