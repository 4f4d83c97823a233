package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/api"
)

type oneService struct{}

func (oneService) Status(context.Context) (api.Status, error) {
	return api.Status{Services: []api.ServiceStatus{{Name: "web", Stages: []api.StageView{{Name: "prod", Serving: map[string]string{"t": "r1"}}}}}}, nil
}

// durable run's metrics: the journal file's size, the status once the
// reconciler is set (an error before, which leaves its series out), the Go
// runtime's and the process's.
func TestReconcilerMetricsServeTheJournalSizeAndStatus(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "journal.db")
	if err := os.WriteFile(journal, make([]byte, 12345), 0o600); err != nil {
		t.Fatal(err)
	}
	status := &lateStatus{}
	m, err := newReconcilerMetrics(status, fileSize(journal))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.handler)
	defer srv.Close()
	before := scrapeText(t, srv.URL)
	status.reconciler = oneService{}
	after := scrapeText(t, srv.URL)
	for _, want := range []string{"durable_journal_size_bytes 12345\n", "go_goroutines ", "process_start_time_seconds "} {
		if !strings.Contains(before, want) || !strings.Contains(after, want) {
			t.Errorf("no %q in the metrics", want)
		}
	}
	info := `durable_stage_release_info{release="r1",service="web",stage="prod",target="t"} 1`
	if strings.Contains(before, info) || !strings.Contains(after, info) {
		t.Errorf("stage release info before the reconciler is set: %v, after: %v", strings.Contains(before, info), strings.Contains(after, info))
	}
	if err := os.Remove(journal); err != nil {
		t.Fatal(err)
	}
	if gone := scrapeText(t, srv.URL); strings.Contains(gone, "durable_journal_size_bytes") || !strings.Contains(gone, info) {
		t.Errorf("without a journal file: size shown %v, status shown %v", strings.Contains(gone, "durable_journal_size_bytes"), strings.Contains(gone, info))
	}
}

func scrapeText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}
