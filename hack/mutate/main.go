// Command mutate is a small mutation tester: it makes one small change at
// a time to a package's code and runs the package's tests, to find the
// changes no test notices. A mutant that survives is a rule the tests do
// not hold, or a change that does not change behaviour (an equivalent
// mutant); reading the survivors tells which.
//
// The mutants, in the package's non-test .go files: each comparison
// flipped (< to <= and >=, == to != …), && and || swapped, an if's
// condition negated, a number c made c+1 and 0, and an early `return err`
// dropped (its condition made false, so the error is ignored). Each is
// written over a copy of the module (made once, without .git, in a
// temporary folder; the working tree is never touched) and the tests run
// with `go test -count=1 -run REGEXP ./pkg/`. A test failure or a timeout
// kills it; a mutant that does not compile is not counted. Survivors are
// printed as they are found, as file:line:col and the change made.
//
//	go run ./hack/mutate [-run REGEXP] [-files GLOB] [-max N -seed S] [-timeout D] [-v] ./reconcile/analysis
//
// On reconcile/analysis (hack/full.sh runs it there) the mutants that
// survive are known to be equivalent, or to touch only what a person
// reads: a strict comparison with a continuous value made non-strict (the
// binomial tail or the z-score exactly at the significance level, a
// relative latency threshold equal to the ceiling it replaces); the sign
// argument of math.IsInf and the number +Inf is written as (quantiles are
// never -Inf); the binomial sum's early stop and its cap at 1 (speed and
// rounding only); the p <= 0 and v == 0 shortcuts (the general formula
// gives the same answer); the z-test's guard against a canary without
// requests moved to one request (below minRequests, and failed by the
// binomial test anyway); quantile's value when it reports no data; the
// error-rate-increase signal's Baseline, always 0. Any other survivor
// there is a rule no test holds: add the test.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"
)

// options are the command line's flags.
type options struct {
	run, files string
	max        int
	seed       int64
	timeout    time.Duration
	verbose    bool
}

func main() {
	var o options
	flag.StringVar(&o.run, "run", "", "run only the tests matching this regexp (go test -run)")
	flag.StringVar(&o.files, "files", "*.go", "mutate only the package's files whose names match this glob")
	flag.IntVar(&o.max, "max", 0, "mutate at most N sites, sampled by -seed (0: all)")
	flag.Int64Var(&o.seed, "seed", 1, "the seed of the sample -max takes")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Minute, "the most one mutant's test run may take; past it, the mutant is killed")
	flag.BoolVar(&o.verbose, "v", false, "print every mutant's outcome, not only the survivors")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mutate [flags] PACKAGE-DIR")
		flag.PrintDefaults()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := mutateAll(ctx, flag.Arg(0), o); err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(1)
	}
}

// mutateAll lists the mutants of the package in dir, copies its module
// and tests each mutant there.
func mutateAll(ctx context.Context, dir string, o options) error {
	root, pkg, err := moduleOf(dir)
	if err != nil {
		return err
	}
	all, err := listMutants(root, pkg, o.files)
	if err != nil {
		return err
	}
	ms := sample(all, o.max, o.seed)
	tmp, err := os.MkdirTemp("", "mutate-")
	if err != nil {
		return fmt.Errorf("temporary copy of the module: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := copyModule(root, tmp); err != nil {
		return fmt.Errorf("copy %s to %s: %w", root, tmp, err)
	}
	r := runner{dir: tmp, pkg: pkg, run: o.run, timeout: o.timeout}
	if got, line := r.test(ctx); got != survived {
		return fmt.Errorf("the tests of %s do not pass before any mutation (%s: %s); fix them first", pkg, got, line)
	}
	fmt.Printf("%s: %d mutants, testing %d\n", pkg, len(all), len(ms))
	start := time.Now()
	t, err := testEach(ctx, r, ms, o.verbose)
	if err != nil {
		return err
	}
	fmt.Printf("%s in %s\n", t, time.Since(start).Round(time.Second))
	return nil
}

// tally counts the outcomes.
type tally [4]int

func (t tally) String() string {
	built := t[survived] + t[killed] + t[timedOut]
	score := 0.0
	if built > 0 {
		score = 100 * float64(t[killed]+t[timedOut]) / float64(built)
	}
	return fmt.Sprintf("killed %d (%d by timeout), survived %d, not built %d: %.0f%% of built mutants killed",
		t[killed]+t[timedOut], t[timedOut], t[survived], t[unbuilt], score)
}

// testEach writes each mutant over the copy, runs the tests and puts the
// file back, printing the survivors (and with verbose every outcome).
func testEach(ctx context.Context, r runner, ms []mutant, verbose bool) (tally, error) {
	var t tally
	originals := map[string][]byte{}
	for _, m := range ms {
		if ctx.Err() != nil {
			return t, fmt.Errorf("stopped after %d mutants: %w", t[0]+t[1]+t[2]+t[3], ctx.Err())
		}
		if originals[m.file] == nil {
			b, err := readOriginal(r.dir, m.file)
			if err != nil {
				return t, err
			}
			originals[m.file] = b
		}
		src, err := mutate(m, originals[m.file])
		if err != nil {
			return t, err
		}
		path := filepath.Join(r.dir, m.file)
		if err := os.WriteFile(path, src, 0o644); err != nil {
			return t, fmt.Errorf("write %s: %w", m, err)
		}
		got, line := r.test(ctx)
		if err := os.WriteFile(path, originals[m.file], 0o644); err != nil {
			return t, fmt.Errorf("restore %s: %w", m.file, err)
		}
		if ctx.Err() != nil {
			continue // interrupted, not timed out: stopped above
		}
		t[got]++
		switch {
		case got == survived:
			fmt.Printf("SURVIVED %s\n", m)
		case verbose:
			fmt.Printf("%s %s: %.160s\n", got, m, line)
		}
	}
	return t, nil
}
