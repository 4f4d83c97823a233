package reconcile

import (
	"context"
	"slices"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// entryPage is how many entries a read of the whole journal decodes at a
// time. At 10,000 services the journal holds hundreds of thousands of
// entries: decoded all at once they were a 200 MB step in the reconciler's
// peak memory, for a fold that keeps a few of them.
const entryPage = 1000

// scanEntries calls fn with the journal's entries, oldest first, page
// entries at a time, and returns the Seq of the last one (0 when there is
// none). Entries appended during the scan are read too.
func scanEntries(ctx context.Context, st journal.Store, page int, fn func([]journal.Entry)) (uint64, error) {
	var last uint64
	for {
		entries, err := st.Entries(ctx, last, page)
		if err != nil || len(entries) == 0 {
			return last, err
		}
		fn(entries)
		last = entries[len(entries)-1].Seq
	}
}

// readJournaledBakes is journaledBakes of the whole journal, read page
// entries at a time, and the Seq of its last entry.
func readJournaledBakes(ctx context.Context, st journal.Store, page int) (map[string]stageBake, uint64, error) {
	out := map[string]stageBake{}
	last, err := scanEntries(ctx, st, page, func(entries []journal.Entry) { addJournaledBakes(out, entries) })
	return out, last, err
}

// appliedRevisions is the journal's revisions, newest first, as far as
// the newest accepted one (all of them when none was accepted): what
// applied reads. Revisions decompresses the desired state of each it
// returns, 10 MB of JSON at 10,000 services, and the status is read on
// every dashboard refresh and scrape: reading them all decompressed every
// accepted revision the journal keeps, each time.
func appliedRevisions(ctx context.Context, st journal.Store) ([]journal.Revision, error) {
	for limit := 1; ; limit *= 2 {
		revs, err := st.Revisions(ctx, limit)
		if err != nil || len(revs) < limit || slices.ContainsFunc(revs, accepted) {
			return revs, err
		}
	}
}

func accepted(rev journal.Revision) bool { return rev.Verdict == api.RevisionAccepted }
