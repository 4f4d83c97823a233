package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/server"
)

// historyState is a stopped reconciler's journal with three rollouts of
// web (one a rollback) and one of api.
func historyState(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	state := t.TempDir()
	st, err := journal.OpenBolt(filepath.Join(state, "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now().Add(-time.Hour).UTC()
	for i, msg := range []string{"web v1", "web v2", "Revert \"web v2\""} {
		if err := st.PutRevision(ctx, journal.Revision{Commit: "c" + string(rune('1'+i)), Message: msg, SeenAt: t0, Verdict: api.RevisionAccepted}); err != nil {
			t.Fatal(err)
		}
	}
	for i, ro := range []journal.Rollout{
		{Service: "web", Release: "r1", Revision: "c1", Phase: api.RolloutSucceeded},
		{Service: "web", Release: "r2", FromRelease: "r1", Revision: "c2", Phase: api.RolloutSucceeded},
		{Service: "web", Release: "r1", FromRelease: "r2", Revision: "c3", Phase: api.RolloutSucceeded, Rollback: true},
		{Service: "api", Release: "a1", Revision: "c1", Phase: api.RolloutFailed, Message: "never healthy"},
	} {
		ro.Stage, ro.Target, ro.ID = "prod", "t", ro.Service+"/prod/t/"+ro.Release+ro.Revision
		ro.StartedAt = t0.Add(time.Duration(i) * time.Minute)
		ro.UpdatedAt = ro.StartedAt.Add(20 * time.Second)
		if err := st.PutRollout(ctx, ro); err != nil {
			t.Fatal(err)
		}
	}
	return state
}

func TestHistoryCommand(t *testing.T) {
	state := historyState(t)
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := executeWith(append([]string{"history", "--state", state}, args...), strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, _ := run("web", "-o", "json")
	var h api.History
	if err := json.Unmarshal([]byte(out), &h); code != exitOK || err != nil {
		t.Fatalf("history web -o json: exit %d, %v\n%s", code, err, out)
	}
	if len(h.Releases) != 3 || h.Releases[1].Outcome != api.OutcomeRolledBack || h.Releases[2].Message != `Revert "web v2"` || h.Releases[0].Took.Duration != 20*time.Second {
		t.Fatalf("history of web: %+v", h.Releases)
	}
	if !strings.Contains(out, `"fromRelease"`) || !strings.Contains(out, `"startedAt"`) {
		t.Fatalf("-o json must be lower camel case:\n%s", out)
	}
	if code, out, _ := run(); code != exitOK || !strings.Contains(out, "Stage prod:") || !strings.Contains(out, "rolledBack after 20s") || !strings.Contains(out, "never healthy") {
		t.Fatalf("history: exit %d\n%s", code, out)
	}
	if code, out, _ := run("-o", "table", "--stage", "prod"); code != exitOK || strings.Count(out, "\n") != 5 || !strings.HasPrefix(out, "STARTED") {
		t.Fatalf("history -o table: exit %d\n%s", code, out)
	}
	if code, out, _ := run("--stage", "staging"); code != exitOK || !strings.Contains(out, "no rollout of any service in stage staging") {
		t.Fatalf("history of a stage that ran nothing: exit %d\n%s", code, out)
	}
	for _, tc := range []struct {
		args []string
		want int
		says string
	}{
		{[]string{"-o", "yaml"}, exitUsage, "use text, table or json"},
		{[]string{"web", "api"}, exitUsage, "accepts at most 1 arg"},
		{[]string{strings.Repeat("w", 100000)}, exitUsage, "at most 253"},
		{[]string{"--stage", "prod\x1b[2J"}, exitUsage, "control character"},
		{[]string{"--state", filepath.Join(state, "nope")}, exitFailed, "--state"},
	} {
		if code, _, errOut := run(tc.args...); code != tc.want || !strings.Contains(errOut, tc.says) {
			t.Errorf("history %q: exit %d, want %d, saying %q:\n%s", tc.args, code, tc.want, tc.says, errOut)
		}
	}
}

// With the journal held by a running reconciler, history reads a copy the
// reconciler's API gives (its handler, over HTTP).
func TestHistoryThroughTheAPI(t *testing.T) {
	state := historyState(t)
	st, err := journal.OpenBolt(filepath.Join(state, "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(server.Handler(journalReconciler{st}, st, server.Webhooks{}))
	defer srv.Close()
	var out, errOut bytes.Buffer
	code := executeWith([]string{"history", "web", "--state", state, "--api", srv.URL, "-o", "json"}, strings.NewReader(""), &out, &errOut)
	var h api.History
	if err := json.Unmarshal(out.Bytes(), &h); code != exitOK || err != nil || len(h.Releases) != 3 {
		t.Fatalf("history through the API: exit %d, %v, %+v\n%s", code, err, h, errOut.String())
	}
}
