package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	// The adapters this binary ships: one import line each.
	_ "github.com/durable-delivery/durable/adapters/docker"
	_ "github.com/durable-delivery/durable/adapters/exec"
	_ "github.com/durable-delivery/durable/adapters/haproxy"
	_ "github.com/durable-delivery/durable/adapters/process"
	_ "github.com/durable-delivery/durable/adapters/router"
)

// Exit codes: 0 success, 1 the thing asked failed, 2 usage error, 3 a
// plan with changes under --exit-code.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitChanges = 3
)

// usageError marks a mistake in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

// failure is an error whose message was already printed: the command only
// needs to exit 1.
var errFailed = errors.New("failed")

// errChanges is durable plan --exit-code's answer when the revision would
// change what runs: its plan was printed.
var errChanges = errors.New("changes")

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "durable",
		Short: "Declarative GitOps reconciler with a policy engine, for hosts, processes and load balancers",
		Long: `Durable watches a Git repository of desired state (CUE), verifies what it is about to run,
and converges real targets with progressive, make-before-break rollouts. A revert commit is
the instant rollback: the previous infra-set is still warm.

Start with: durable demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newRunCmd(), newValidateCmd(), newStatusCmd(), newDemoCmd(), newRouterCmd(), newVersionCmd(),
		newPolicyCmd(), newApproveCmd(), newVerifyCmd(), newPinCmd(), newSchemaCmd(), newJournalCmd(), newPlanCmd(), newHistoryCmd(), newRollbackCmd(),
		newCertsCmd(), newAgentCmd(),
		newPackCmd(), newSignCmd(), newKeysCmd(), newReleaseCmd(), newQueueCmd())
	return root
}

func execute(args []string) int { return executeWith(args, os.Stdin, os.Stdout, os.Stderr) }

// executeWith runs the command line with the given standard streams and
// returns the exit code.
func executeWith(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errFailed) {
		return exitFailed
	}
	if errors.Is(err, errChanges) {
		return exitChanges
	}
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
		fmt.Fprintf(stderr, "durable: %v\nRun 'durable --help' for usage.\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "durable: %v\n", err)
	return exitFailed
}

// exactArgs is cobra.ExactArgs reporting a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// maxArgs is cobra.MaximumNArgs reporting a usage error.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.MaximumNArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
