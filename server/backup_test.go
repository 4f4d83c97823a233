package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// TestBackupThroughTheAPI: the copy a client takes of a running API's
// journal opens and checks, and holds its entries.
func TestBackupThroughTheAPI(t *testing.T) {
	_, srv := newAPI(t)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "copy.db")
	got, err := journal.SaveBackup(ctx, file, func(w io.Writer) (int64, error) { return NewClient(srv.URL).Backup(ctx, w) })
	if err != nil {
		t.Fatal(err)
	}
	if got.Entries != 5 {
		t.Fatalf("the copy holds %d entries, want the 5 written", got.Entries)
	}
}

// entriesOnly is a journal that cannot be copied.
type entriesOnly struct{}

func (entriesOnly) Entries(context.Context, uint64, int) ([]api.Entry, error) { return nil, nil }

// failingCopy announces a size, writes part of it and fails.
type failingCopy struct{ entriesOnly }

func (failingCopy) WriteBackup(_ context.Context, start func(int64) io.Writer) (int64, error) {
	n, _ := io.WriteString(start(1000), strings.Repeat("x", 100))
	return int64(n), errors.New("disk read error")
}

// refusingCopy fails before it starts.
type refusingCopy struct{ entriesOnly }

func (refusingCopy) WriteBackup(context.Context, func(int64) io.Writer) (int64, error) {
	return 0, errors.New("journal closed")
}

func TestBackupFailures(t *testing.T) {
	cases := []struct {
		name string
		st   Journal
		want string
	}{
		{"a journal that cannot be copied", entriesOnly{}, "cannot be copied through the API"},
		{"a copy that fails before it starts", refusingCopy{}, "journal closed"},
		{"a copy that fails half-way", failingCopy{}, "EOF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(Handler(&journalOnly{}, c.st, Webhooks{}))
			defer srv.Close()
			var sink strings.Builder
			_, err := NewClient(srv.URL).Backup(context.Background(), &sink)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Backup = %v, want an error saying %q", err, c.want)
			}
		})
	}
	// A GET is not the backup: reads never copy the journal.
	srv := httptest.NewServer(Handler(&journalOnly{}, failingCopy{}, Webhooks{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/journal/backup")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /v1/journal/backup: %s, want 405", resp.Status)
	}
}
