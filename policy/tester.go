package policy

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is the outcome of one Rego test rule.
type TestResult struct {
	// Name is the rule's full name (data.durable.gate_test.test_friday).
	Name     string        `json:"name"`
	Location string        `json:"location"`
	Pass     bool          `json:"pass"`
	Skipped  bool          `json:"skipped,omitempty"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration"`
}

// TestReport is the outcome of every test of a source.
type TestReport struct {
	Results          []TestResult `json:"results"`
	Passed, Failed   int
	Skipped, Errored int
}

// OK reports whether no test failed or errored.
func (r TestReport) OK() bool { return r.Failed == 0 && r.Errored == 0 }

// RunTests runs the source's test_ rules (in its *_test.rego files) against
// its policies, in the same sandbox as decisions, like `opa test`. Each test
// is bounded by timeout.
func RunTests(ctx context.Context, src Source, timeout time.Duration) (TestReport, error) {
	files := make(map[string]string, len(src.Modules)+len(src.Tests))
	for n, m := range src.Modules {
		files[n] = m
	}
	for n, m := range src.Tests {
		files[n] = m
	}
	modules, errs := parse(files)
	if len(errs) > 0 {
		return TestReport{}, errs
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ch, err := tester.NewRunner().
		SetCompiler(newCompiler()).
		SetTimeout(timeout).
		RaiseBuiltinErrors(true).
		Run(ctx, modules)
	if err != nil {
		return TestReport{}, fromAST(src.Name, err)
	}
	var rep TestReport
	for r := range ch {
		tr := TestResult{Name: r.Package + "." + r.Name, Duration: r.Duration, Pass: r.Pass(), Skipped: r.Skip}
		if r.Location != nil {
			tr.Location = fmt.Sprintf("%s:%d:%d", r.Location.File, r.Location.Row, r.Location.Col)
		}
		switch {
		case r.Skip:
			rep.Skipped++
		case r.Error != nil:
			tr.Error = oneLine(r.Error.Error())
			rep.Errored++
		case r.Fail:
			rep.Failed++
		default:
			rep.Passed++
		}
		rep.Results = append(rep.Results, tr)
	}
	sort.SliceStable(rep.Results, func(i, j int) bool { return rep.Results[i].Location < rep.Results[j].Location })
	return rep, nil
}
