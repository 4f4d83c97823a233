package journal

import (
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/durable-delivery/durable/api"
)

// A journal written by release 4392952 (before the wire types moved to api
// and states were typed, and before transitions were recorded) still opens,
// read-only and for writing, and every record reads back as it was written.
// testdata/mkjournal-4392952 is the program that wrote it.
func TestJournalOf4392952StillReads(t *testing.T) {
	ctx := context.Background()
	for _, readOnly := range []bool{true, false} {
		path := copyFile(t, "testdata/journal-4392952.db")
		st, err := OpenBolt(path, BoltOptions{ReadOnly: readOnly})
		if err != nil {
			t.Fatalf("read-only %v: %v", readOnly, err)
		}
		revs, err := st.Revisions(ctx, 0)
		if err != nil || len(revs) != 2 || revs[0].Commit != "c2" || revs[0].Verdict != api.RevisionRejected || len(revs[0].Errors) != 1 ||
			revs[1].Verdict != api.RevisionAccepted || len(revs[1].DesiredState) == 0 || revs[1].Policies["policy/a.rego"] == "" {
			t.Fatalf("revisions %+v, %v", revs, err)
		}
		sets, err := st.InfraSets(ctx)
		if err != nil || len(sets) != 2 || sets[1].ID != "web-set1" || sets[1].State != api.SetServing || sets[0].State != api.SetWarm {
			t.Fatalf("infra-sets %+v, %v", sets, err)
		}
		ros, err := st.Rollouts(ctx)
		if err != nil || len(ros) != 1 {
			t.Fatalf("rollouts %+v, %v", ros, err)
		}
		ro := ros[0]
		lat := ro.StepBase["web-set1"].Latency
		if ro.Phase != api.RolloutSucceeded || !ro.Done() || ro.Verdict == nil || ro.Verdict.Seq != 2 || len(lat) != 2 || !math.IsInf(lat[1].UpperBound, 1) {
			t.Fatalf("rollout %+v", ro)
		}
		entries, err := st.Entries(ctx, 0, 0)
		if err != nil || len(entries) != 5 || entries[2].Kind != api.EntryIntent || entries[2].Action != api.ActionCreateSet ||
			entries[3].Intent != 3 || entries[4].Action != api.ActionBakeStarted {
			t.Fatalf("entries %+v, %v", entries, err)
		}
		if problems, err := Check(ctx, st); err != nil || len(problems) != 0 {
			t.Fatalf("check: %q, %v", problems, err)
		}
		if !readOnly {
			set := sets[1]
			set.State = api.SetWarm
			if err := st.PutInfraSet(ctx, set); err != nil {
				t.Fatalf("write to the old journal: %v", err)
			}
			if ts, err := st.Transitions(ctx); err != nil || len(ts) != 1 || ts[0].From != "serving" || ts[0].To != "warm" {
				t.Fatalf("transitions after the first write: %+v, %v", ts, err)
			}
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from string) string {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	to := filepath.Join(t.TempDir(), filepath.Base(from))
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return to
}
