package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/server"
)

// journalPoll is how often `durable journal --follow` asks for new entries.
const journalPoll = 500 * time.Millisecond

// journalPrint are the flags of `durable journal` without a subcommand.
type journalPrint struct {
	api    clientFlags
	after  uint64
	tail   int
	follow bool
	output *outputFlag
}

func (p *journalPrint) addFlags(cmd *cobra.Command) {
	addClientFlags(cmd.Flags(), &p.api)
	cmd.Flags().Uint64Var(&p.after, "after", 0, "print the entries after this sequence number")
	cmd.Flags().IntVar(&p.tail, "tail", 20, "without --after, print the last N entries (0: all)")
	cmd.Flags().BoolVarP(&p.follow, "follow", "f", false, "then print each new entry as it is journaled, until interrupted")
	p.output = addOutputFlag(cmd.Flags(), formatText, formatText, formatJSON) // json: one object per line
}

// run prints the journal's entries from the running reconciler's API.
func (p *journalPrint) run(ctx context.Context, w io.Writer) error {
	if p.tail < 0 {
		return usageError{fmt.Errorf("--tail %d: give 0 (all) or more", p.tail)}
	}
	c, err := p.api.client()
	if err != nil {
		return err
	}
	after := p.after
	if after == 0 && p.tail > 0 {
		if after, err = tailStart(ctx, c, p.tail); err != nil {
			return err
		}
	}
	for {
		entries, err := c.Journal(ctx, after, server.MaxEntries)
		if err != nil {
			if ctx.Err() != nil && p.follow {
				return nil // interrupted
			}
			return err
		}
		for _, e := range entries {
			if err := printEntry(w, e, p.output.value); err != nil {
				return err
			}
			after = e.Seq
		}
		if len(entries) == server.MaxEntries {
			continue
		}
		if !p.follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(journalPoll):
		}
	}
}

// tailStart is the sequence number after which the last n entries are:
// the status names the newest.
func tailStart(ctx context.Context, c *server.Client, n int) (uint64, error) {
	s, err := c.Status(ctx)
	if err != nil {
		return 0, err
	}
	if s.LastSeq <= uint64(n) {
		return 0, nil
	}
	return s.LastSeq - uint64(n), nil
}

// printEntry writes one entry: a line for a person, or its JSON.
func printEntry(w io.Writer, e api.Entry, output format) error {
	if output == formatJSON {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	var where []string
	for _, s := range []string{e.Service, e.Stage, e.Target} {
		if s != "" {
			where = append(where, s)
		}
	}
	line := fmt.Sprintf("%6d %s %-8s", e.Seq, e.Time.Format(time.RFC3339), e.Kind)
	if len(where) > 0 {
		line += " " + strings.Join(where, "/")
	}
	for _, s := range []string{string(e.Action), e.EntryPoint, e.Result} {
		if s != "" {
			line += " " + s
		}
	}
	line += ": " + oneLine(e.Message)
	if e.Error != "" {
		line += " (error: " + oneLine(e.Error) + ")"
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

// oneLine keeps a journaled text on its line: a committer's message may
// hold newlines and terminal escapes.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
