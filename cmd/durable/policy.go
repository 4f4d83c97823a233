package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/policy"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Test and evaluate Rego policies",
		Long: `Policies are Rego (OPA v1) files in the desired-state repository's policy/ folder.
See docs/policy.md for the entry points and their inputs.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError{errors.New("name a subcommand: test or eval")}
		},
	}
	cmd.AddCommand(newPolicyTestCmd(), newPolicyEvalCmd())
	return cmd
}

// policyDir is the folder of policies of a desired-state directory, or the
// directory itself when it holds no policy/ folder.
func policyDir(args []string) string {
	dir := "."
	if len(args) > 0 {
		dir = args[0]
	}
	if st, err := os.Stat(filepath.Join(dir, "policy")); err == nil && st.IsDir() {
		return filepath.Join(dir, "policy")
	}
	return dir
}

func newPolicyTestCmd() *cobra.Command {
	var (
		timeout time.Duration
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "test [DIR]",
		Short: "Run the policies' *_test.rego tests, like opa test",
		Long: `Runs every test_ rule of the *_test.rego files in DIR/policy (or DIR itself), in the
same sandbox as the reconciler's decisions. Prints each failing test with its location and
the counts; exits 1 when a test fails or errors.`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := policyDir(args)
			src, err := policy.ReadDir(dir, "policies")
			if err != nil {
				return err
			}
			if len(src.Tests) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: no *_test.rego file\n", dir)
				return errFailed
			}
			rep, err := policy.RunTests(cmd.Context(), src, timeout)
			if err != nil {
				return printPolicyErrors(cmd.ErrOrStderr(), err)
			}
			out := cmd.OutOrStdout()
			for _, r := range rep.Results {
				switch {
				case r.Error != "":
					fmt.Fprintf(out, "ERROR %s: %s: %s\n", r.Location, r.Name, r.Error)
				case r.Skipped:
					fmt.Fprintf(out, "SKIP  %s: %s\n", r.Location, r.Name)
				case !r.Pass:
					fmt.Fprintf(out, "FAIL  %s: %s\n", r.Location, r.Name)
				case verbose:
					fmt.Fprintf(out, "PASS  %s: %s (%s)\n", r.Location, r.Name, r.Duration.Round(time.Microsecond))
				}
			}
			fmt.Fprintf(out, "%d passed, %d failed, %d errored, %d skipped\n", rep.Passed, rep.Failed, rep.Errored, rep.Skipped)
			if !rep.OK() {
				return errFailed
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long one test may run")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list passing tests too")
	return cmd
}

func newPolicyEvalCmd() *cobra.Command {
	var (
		entry, input string
		timeout      time.Duration
		out          *outputFlag
	)
	cmd := &cobra.Command{
		Use:   "eval --entry admission|gate|invariant --input FILE [DIR]",
		Short: "Print the decision the policies make for a hand-written input",
		Long: `Compiles the policies of DIR/policy (or DIR itself) as the reconciler does and asks one
entry point with the JSON input in FILE ("-" for standard input). Prints the decision as JSON
(-o text and -o table for people); exits 0 when it allows, 1 when it denies or holds.`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ep, err := policy.ParseEntryPoint(entry)
			if err != nil {
				return usageError{fmt.Errorf("--entry: %w", err)}
			}
			if input == "" {
				return usageError{errors.New("--input is required: a JSON file (see docs/policy.md for each entry point's input)")}
			}
			doc, err := readInput(cmd, input)
			if err != nil {
				return err
			}
			dir := policyDir(args)
			src, err := policy.ReadDir(dir, "policies")
			if err != nil {
				return err
			}
			engine, err := policy.Compile(context.Background(), policy.Options{Timeout: timeout}, src)
			if err != nil {
				return printPolicyErrors(cmd.ErrOrStderr(), err)
			}
			d := engine.Decide(cmd.Context(), ep, doc)
			if !d.Defined() {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: no policy defines package %s; the reconciler's built-in rules would apply\n", dir, ep.Package())
			}
			if err := printOutput(cmd.OutOrStdout(), out.value, decisionView(d)); err != nil {
				return err
			}
			if d.Result != policy.Allow {
				return errFailed
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&entry, "entry", "", "entry point: admission, gate or invariant")
	cmd.Flags().StringVar(&input, "input", "", "JSON file with the input document, or - for standard input")
	cmd.Flags().DurationVar(&timeout, "timeout", policy.DefaultTimeout, "how long the decision may take")
	out = addOutputFlag(cmd.Flags(), formatJSON)
	return cmd
}

// decisionView is a policy decision in each output format.
func decisionView(d policy.Decision) view {
	return view{value: d,
		text: func(w io.Writer) {
			by := "no policy: the built-in rules apply"
			if d.Defined() {
				by = "by " + d.Policy
			}
			fmt.Fprintf(w, "%s %s (%s, in %s)\n", d.Entry, d.Result, by, d.Duration)
			for _, r := range d.Reasons {
				fmt.Fprintf(w, "  %s\n", r)
			}
		},
		table: func() table {
			t := table{header: []string{"ENTRY", "RESULT", "POLICY", "REASON"}}
			for _, r := range d.Reasons {
				t.rows = append(t.rows, []string{string(d.Entry), d.Result, d.Policy, r})
			}
			if len(d.Reasons) == 0 {
				t.rows = append(t.rows, []string{string(d.Entry), d.Result, d.Policy, ""})
			}
			return t
		}}
}

// maxInputBytes caps a hand-written input document.
const maxInputBytes = 8 << 20

func readInput(cmd *cobra.Command, name string) (any, error) {
	var r io.Reader = cmd.InOrStdin()
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxInputBytes {
		return nil, fmt.Errorf("%s: more than %d bytes", name, maxInputBytes)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: not JSON: %w", name, err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, fmt.Errorf("%s: the input must be a JSON object", name)
	}
	return doc, nil
}

// printPolicyErrors prints positioned policy errors one per line.
func printPolicyErrors(w io.Writer, err error) error {
	var errs policy.Errors
	if !errors.As(err, &errs) {
		return err
	}
	for _, e := range errs {
		fmt.Fprintln(w, e.String())
	}
	fmt.Fprintf(w, "%d error(s)\n", len(errs))
	return errFailed
}
