package reconcile

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// TestStartWarningsAreJournaledAndShown: each guarantee the reconciler was
// started without is journaled once per start and shown, dated, in every
// status.
func TestStartWarningsAreJournaledAndShown(t *testing.T) {
	ctx := context.Background()
	st, err := journal.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	given := []api.Warning{{Reason: api.ReasonInsecureSkipVerify, Message: "nothing verified"}}
	r, err := New(ctx, Config{Warnings: given}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.startWarnings(ctx)
	s, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 1 || s.Warnings[0].Reason != api.ReasonInsecureSkipVerify || s.Warnings[0].Since.IsZero() {
		t.Errorf("status warnings %+v, want the one given, dated", s.Warnings)
	}
	if !given[0].Since.IsZero() {
		t.Error("the caller's warnings were changed")
	}
	entries, err := st.Entries(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Kind != api.EntryEvent || entries[0].Action != api.ActionWarning ||
		entries[0].Result != string(api.ReasonInsecureSkipVerify) || entries[0].Message != "nothing verified" {
		t.Errorf("journal %+v, want one warning event", entries)
	}
	if problems, err := journal.Check(ctx, st); err != nil || len(problems) > 0 {
		t.Errorf("journal check: %v %v", problems, err)
	}
}
