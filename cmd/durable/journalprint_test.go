package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/server"
)

// lockedBuffer is a buffer a follower writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestJournalPrintsAndFollows: durable journal prints the last --tail
// entries of a running reconciler's journal (its real API over HTTP), one
// line each with a committer's newlines and escapes flattened, or one JSON
// object per line; --follow then prints each new entry as it is journaled,
// and ends when interrupted; bad flags are usage errors.
func TestJournalPrintsAndFollows(t *testing.T) {
	ctx := context.Background()
	st, err := journal.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, msg := range []string{"first", "second", "revision rejected: \"x\ny\"\x1b[31m red"} {
		if _, err := st.Append(ctx, journal.Entry{Kind: api.EntryEvent, Service: "web", Message: msg}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(server.Handler(journalReconciler{st}, st, server.Webhooks{}))
	defer srv.Close()

	var out, errOut bytes.Buffer
	if code := executeWith([]string{"journal", "--api", srv.URL, "--tail", "2"}, nil, &out, &errOut); code != exitOK {
		t.Fatalf("durable journal --tail 2: exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "second") || !strings.Contains(lines[1], `"x y" [31m red`) || !strings.Contains(lines[1], "web") {
		t.Fatalf("durable journal --tail 2 printed:\n%s", out.String())
	}
	out.Reset()
	if code := executeWith([]string{"journal", "--api", srv.URL, "--after", "0", "-o", "json"}, nil, &out, &errOut); code != exitOK {
		t.Fatalf("durable journal -o json: exit %d: %s", code, errOut.String())
	}
	lines = strings.Split(strings.TrimSpace(out.String()), "\n")
	var e api.Entry
	if len(lines) != 3 || json.Unmarshal([]byte(lines[2]), &e) != nil || e.Seq != 3 || e.Message != "revision rejected: \"x\ny\"\x1b[31m red" {
		t.Fatalf("durable journal -o json printed:\n%s", out.String())
	}
	for _, args := range [][]string{{"--tail", "-1"}, {"-o", "table"}, {"--after", "x"}} {
		if code := executeWith(append([]string{"journal", "--api", srv.URL}, args...), nil, &out, &errOut); code != exitUsage {
			t.Errorf("durable journal %v: exit %d, want %d", args, code, exitUsage)
		}
	}

	// --follow prints what is journaled after it started, until interrupted.
	p := journalPrint{tail: 1, follow: true, output: &outputFlag{value: formatText}}
	p.api.cfg.Address = srv.URL
	fctx, stop := context.WithCancel(ctx)
	followed := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- p.run(fctx, followed) }()
	waitPrinted := func(what string) {
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(followed.String(), what) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitPrinted("red") // the tail, before anything new
	if _, err := st.Append(ctx, journal.Entry{Kind: api.EntryEvent, Message: "fourth"}); err != nil {
		t.Fatal(err)
	}
	waitPrinted("fourth")
	stop()
	if err := <-done; err != nil {
		t.Fatalf("--follow ended with %v", err)
	}
	if got := followed.String(); strings.Count(got, "\n") != 2 || !strings.Contains(got, "red") || !strings.Contains(got, "fourth") {
		t.Fatalf("--follow printed:\n%s", got)
	}
}
