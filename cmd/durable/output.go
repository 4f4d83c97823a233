package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"
)

// format is what -o asks a command to print: text for a person to read, a
// table aligned in columns, or JSON (indented, fields in lower camel case)
// for a program. Every command that prints data takes -o through
// addOutputFlag and prints through printOutput, so that they agree.
type format string

const (
	formatText  format = "text"
	formatTable format = "table"
	formatJSON  format = "json"
)

// allFormats are what a command that prints data offers.
var allFormats = []format{formatText, formatTable, formatJSON}

// outputFlag is -o's value: one of the formats its command offers. A value
// outside them is a usage error naming them.
type outputFlag struct {
	value  format
	offers []format
}

func (o *outputFlag) String() string { return string(o.value) }
func (o *outputFlag) Type() string   { return "format" }

func (o *outputFlag) Set(s string) error {
	if !slices.Contains(o.offers, format(s)) {
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return fmt.Errorf("%q is not an output format; use %s", s, formatList(o.offers))
	}
	o.value = format(s)
	return nil
}

// formatList is "text, table or json".
func formatList(fs []format) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// addOutputFlag adds -o/--output to flags, defaulting to def and offering
// offers (allFormats when none are given).
func addOutputFlag(flags *pflag.FlagSet, def format, offers ...format) *outputFlag {
	if len(offers) == 0 {
		offers = allFormats
	}
	o := &outputFlag{value: def, offers: offers}
	flags.VarP(o, "output", "o", "output format: "+formatList(offers))
	return o
}

// view is what a command prints, in each format: the value itself is the
// JSON; text and table print it for people. A nil table prints the text.
type view struct {
	value any
	text  func(io.Writer)
	table func() table
}

// table is a header and rows of cells.
type table struct {
	header []string
	rows   [][]string
}

// printOutput prints v in format f.
func printOutput(w io.Writer, f format, v view) error {
	switch {
	case f == formatJSON:
		return writeJSON(w, v.value)
	case f == formatTable && v.table != nil:
		return writeTable(w, v.table())
	default:
		v.text(w)
		return nil
	}
}

// writeJSON prints v indented by two spaces, as every command's -o json does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeTable prints t with its columns aligned; a cell never holds a tab
// or a line break, which would break the alignment.
func writeTable(w io.Writer, t table) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(cells []string) {
		clean := make([]string, len(cells))
		for i, c := range cells {
			clean[i] = strings.Map(func(r rune) rune {
				if r == '\t' || r == '\n' || r == '\r' {
					return ' '
				}
				return r
			}, c)
			if clean[i] == "" {
				clean[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(clean, "\t"))
	}
	line(t.header)
	for _, r := range t.rows {
		line(r)
	}
	return tw.Flush()
}
