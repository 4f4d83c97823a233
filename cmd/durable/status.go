package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/api"
)

func newStatusCmd() *cobra.Command {
	var (
		from     runningFlags
		out      *outputFlag
		watch    bool
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what the reconciler runs, what it is doing, and why",
		Long: `Asks the running reconciler's API (--api, with --token-file when it needs one). When no reconciler answers and --state is
given, reads its journal directly.

-o table prints one line per infra-set; -o json the status as the API gives it.
With --watch it reads the status again every --interval and prints it again when it
changed, until interrupted (Ctrl-C).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := out.value
			if watch {
				if interval < 100*time.Millisecond || interval > time.Hour {
					return usageError{fmt.Errorf("--interval %s: use 100ms to 1h", interval)}
				}
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				return watchStatus(ctx, cmd.OutOrStdout(), statusWatch{read: from.status, format: f, interval: interval})
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
			defer cancel()
			st, err := from.status(ctx)
			if err != nil {
				return err
			}
			return printOutput(cmd.OutOrStdout(), f, statusView(st))
		},
	}
	addRunningFlags(cmd, &from)
	out = addOutputFlag(cmd.Flags(), formatText)
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "print the status again whenever it changes, until interrupted")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "with --watch, how often to read the status")
	return cmd
}

// statusView is a status in each output format.
func statusView(st api.Status) view {
	return view{value: st, text: func(w io.Writer) { printStatus(w, st) }, table: func() table { return statusTable(st) }}
}

// statusTable is one row per infra-set of every placement.
func statusTable(st api.Status) table {
	t := table{header: []string{"SERVICE", "STAGE", "TARGET", "SET", "STATE", "WEIGHT", "RELEASE", "ROLLOUT"}}
	for _, svc := range st.Services {
		for _, pl := range svc.Placements {
			rollout := ""
			if ro := pl.Rollout; ro != nil {
				rollout = string(ro.Phase) + " " + abbrev(ro.Release)
			}
			if len(pl.Sets) == 0 {
				t.rows = append(t.rows, []string{svc.Name, pl.Stage, pl.Target, "", "", "", "", rollout})
			}
			for _, s := range pl.Sets {
				weight := ""
				if pl.Split != nil {
					weight = fmt.Sprintf("%d%%", pl.Split.Weight(s.ID))
				}
				t.rows = append(t.rows, []string{svc.Name, pl.Stage, pl.Target, s.ID, string(s.State), weight, abbrev(s.Release), rollout})
			}
		}
	}
	return t
}

func printStatus(w io.Writer, st api.Status) {
	ready := "False"
	if st.Ready.Status {
		ready = "True"
	}
	fmt.Fprintf(w, "Ready: %s (%s) %s", ready, st.Ready.Reason, st.Ready.Message)
	if !st.Ready.Since.IsZero() {
		fmt.Fprintf(w, " — since %s", st.Ready.Since.Local().Format(time.RFC3339))
	}
	fmt.Fprintln(w)
	if st.Trust != "" {
		fmt.Fprintf(w, "Trust: %s\n", st.Trust)
	}
	for _, warn := range st.Warnings {
		fmt.Fprintf(w, "Warning (%s): %s\n", warn.Reason, warn.Message)
	}
	if st.Source.Error != "" {
		fmt.Fprintf(w, "Source: unreachable since %s: %s\n", st.Source.Since.Local().Format(time.RFC3339), st.Source.Error)
	}
	for _, f := range st.Failing {
		fmt.Fprintf(w, "Failing: %s since %s: %s\n", f.Dependency, f.Since.Local().Format(time.RFC3339), f.Error)
	}
	for _, r := range []struct {
		label string
		rev   *api.RevisionStatus
	}{{"Head", st.Head}, {"Applied", st.Applied}} {
		if r.rev == nil {
			continue
		}
		fmt.Fprintf(w, "%s: %s %s %q (seen %s)\n", r.label, abbrev(r.rev.Commit), r.rev.Verdict, r.rev.Message, r.rev.SeenAt.Local().Format(time.RFC3339))
		for _, e := range r.rev.Errors {
			fmt.Fprintf(w, "  %s\n", e)
		}
		if st.Head != nil && st.Applied != nil && st.Head.Commit == st.Applied.Commit {
			break
		}
	}
	for _, svc := range st.Services {
		fmt.Fprintf(w, "\nService %s: release %s (%s)\n", svc.Name, abbrev(svc.Release), svc.Artifact)
		for _, sv := range svc.Stages {
			fmt.Fprintf(w, "  stage %s: serving %s; in flight %s; queued %s\n", sv.Name, releases(sv.Serving), releases(sv.InFlight), list(sv.Queue))
			printStageRules(w, sv)
		}
		for _, pl := range svc.Placements {
			printPlacement(w, pl)
		}
	}
	printQueue(w, st.Queue)
}

// printPlacement shows one service on one target: its sets, the traffic
// split, the last rollout and decision, and what failed converging it.
func printPlacement(w io.Writer, pl api.PlacementStatus) {
	observed := ""
	if !pl.ObservedAt.IsZero() {
		observed = fmt.Sprintf(" (traffic as observed %s)", pl.ObservedAt.Local().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "  stage %s, target %s: serving %s%s\n", pl.Stage, pl.Target, orNone(pl.Serving), observed)
	if e := pl.Error; e != nil {
		fmt.Fprintf(w, "    failing since %s: %s\n", e.Since.Local().Format(time.RFC3339), e.Error)
	}
	for _, s := range pl.Sets {
		weight := ""
		if pl.Split != nil {
			weight = fmt.Sprintf(" %3d%%", pl.Split.Weight(s.ID))
		}
		served := ""
		if m := s.Metrics; m != nil {
			served = fmt.Sprintf("  %d requests, %d 5xx", m.Requests, m.ServerErrors)
		}
		if m := s.Step; m != nil {
			served += fmt.Sprintf(" (this step: %d requests, %d 5xx)", m.Requests, m.ServerErrors)
		}
		fmt.Fprintf(w, "    %-9s%s %s  release %s%s\n", s.State, weight, s.ID, abbrev(s.Release), served)
		if s.Reason != "" && s.State != api.SetServing {
			fmt.Fprintf(w, "              %s\n", s.Reason)
		}
	}
	if ro := pl.Rollout; ro != nil {
		kind := "rollout"
		if ro.Rollback {
			kind = "rollback"
		}
		fmt.Fprintf(w, "    last %s: %s of %s (%s) %s\n", kind, ro.Phase, abbrev(ro.Release), ro.UpdatedAt.Local().Format(time.RFC3339), strings.TrimSpace(ro.Message))
		if v := ro.Verdict; v != nil {
			fmt.Fprintf(w, "    last decision: %s %s by %s (journal #%d, %s)\n", v.Entry, v.Result, v.Policy, v.Seq, v.At.Local().Format(time.RFC3339))
			for _, r := range v.Reasons {
				fmt.Fprintf(w, "      %s\n", r)
			}
		}
	}
}

// printStageRules shows a stage's bake and gate and how far they are met.
func printStageRules(w io.Writer, sv api.StageView) {
	if b := sv.Bake; b != nil {
		switch {
		case b.Release == "":
			fmt.Fprintf(w, "    bake: %s and %d requests; nothing baking\n", b.Time, b.Requests)
		case b.Done:
			fmt.Fprintf(w, "    bake of %s: done after %s and %d requests (rule: %s and %d)\n", abbrev(b.Release), b.Elapsed, b.Served, b.Time, b.Requests)
		default:
			fmt.Fprintf(w, "    bake of %s: %s of %s, %d of %d requests (since %s)\n", abbrev(b.Release), b.Elapsed, b.Time, b.Served, b.Requests, b.StartedAt.Local().Format(time.RFC3339))
		}
	}
	if g := sv.Gate; g != nil {
		signed := ""
		if g.Signed {
			signed = ", signed commits only"
		}
		fmt.Fprintf(w, "    gate: %d approval(s)%s", g.Approvals, signed)
		if g.Release != "" {
			who := ""
			if len(g.Approvers) > 0 {
				who = " (" + strings.Join(g.Approvers, ", ") + ")"
			}
			fmt.Fprintf(w, "; release %s has %d%s", abbrev(g.Release), len(g.Approvers), who)
		}
		if g.Approve != "" {
			fmt.Fprintf(w, "; approve with: %s", g.Approve)
		}
		fmt.Fprintln(w)
	}
}

func abbrev(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// releases shows a target → release map as "target=release12, …".
func releases(m map[string]string) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + abbrev(m[k])
	}
	return strings.Join(out, ", ")
}

// list shows releases abbreviated, nearest first.
func list(rs []string) string {
	if len(rs) == 0 {
		return "none"
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = abbrev(r)
	}
	return strings.Join(out, ", ")
}
