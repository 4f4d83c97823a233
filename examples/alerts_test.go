package examples

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/server"
)

// alertFiles are the example alert rules and their unit tests.
var alertFiles = []string{"alerts/durable.rules.yml", "alerts/durable.rules.test.yml"}

// The example alert rules load in Prometheus (promtool check rules), and
// each fires on the series Durable exports, and only then (promtool test
// rules, Debian's prometheus package; hack/install-deps.sh installs it).
func TestAlertRulesPassPromtool(t *testing.T) {
	for _, args := range [][]string{{"check", "rules", "durable.rules.yml"}, {"test", "rules", "durable.rules.test.yml"}} {
		cmd := exec.Command("promtool", args...)
		cmd.Dir = "alerts"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s in examples/alerts: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// Every metric the rules and their tests name is one the reconciler
// exports: a rule on a misspelt name never fires, and its test, fed the
// same misspelt series, would still pass.
func TestAlertRulesNameExportedMetrics(t *testing.T) {
	for _, file := range alertFiles {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if unknown := unknownMetrics(string(text), server.MetricNames()); len(unknown) > 0 {
			t.Errorf("examples/%s names %s, which Durable does not export (server.MetricNames)", file, strings.Join(unknown, ", "))
		}
	}
	if got := unknownMetrics(`expr: durable_rollbacks_total > 0 and durable_rollback_total_count`, server.MetricNames()); !slices.Equal(got, []string{"durable_rollback_total_count"}) {
		t.Errorf("the check found %q in a rule naming durable_rollback_total_count", got)
	}
}

var metricName = regexp.MustCompile(`\bdurable_[a-z0-9_]+`)

// unknownMetrics returns the durable_ metric names in text that are not in
// known, a histogram's _bucket, _count and _sum counting as its name.
func unknownMetrics(text string, known []string) []string {
	var out []string
	for _, name := range metricName.FindAllString(text, -1) {
		base := name
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if trimmed, ok := strings.CutSuffix(name, suffix); ok && strings.HasSuffix(trimmed, "_seconds") {
				base = trimmed
			}
		}
		if !slices.Contains(known, base) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}
