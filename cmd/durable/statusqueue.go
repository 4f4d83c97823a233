package main

import (
	"fmt"
	"io"
	"time"

	"github.com/durable-delivery/durable/api"
)

// printQueue shows the merge queue durable run --queue processes: each
// proposal in queue order, the waiting ones with their position, with its
// state and since when, when it was added, and why it was ejected.
func printQueue(w io.Writer, q *api.QueueStatus) {
	if q == nil {
		return
	}
	if q.Error != "" {
		fmt.Fprintf(w, "\nMerge queue: cannot be read: %s\n", q.Error)
		return
	}
	fmt.Fprintf(w, "\nMerge queue: %d waiting\n", q.Waiting)
	for _, p := range q.Proposals {
		place := "  "
		if p.Position > 0 {
			place = fmt.Sprintf("%d.", p.Position)
		}
		fmt.Fprintf(w, "  %-3s #%d %s (%s) %s since %s, added %s", place, p.Seq, p.Branch, abbrev(p.Head), p.State,
			p.Since.Local().Format(time.RFC3339), p.Added.Local().Format(time.RFC3339))
		if p.Candidate != "" {
			fmt.Fprintf(w, ", as %s by %s", abbrev(p.Candidate), p.Method)
		}
		if p.Reason != "" {
			fmt.Fprintf(w, ": %s", p.Reason)
		}
		fmt.Fprintln(w)
		for _, r := range p.Reasons {
			fmt.Fprintf(w, "        %s\n", r)
		}
	}
}
