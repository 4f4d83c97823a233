package exec

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkCall is one in-flight call to the same Python plug-in
// (testdata/lines.py) in each form: a process started per call, or one
// process answering JSON lines.
func BenchmarkCall(b *testing.B) {
	script, err := filepath.Abs(filepath.Join("testdata", "lines.py"))
	if err != nil {
		b.Fatal(err)
	}
	pidFile := filepath.Join(b.TempDir(), "pids")
	for _, tc := range []struct {
		form string
		new  func() *Traffic
	}{
		{"one-shot", func() *Traffic { return NewTraffic([]string{python(b), script, pidFile, "--one-shot"}, time.Minute) }},
		{"long-lived", func() *Traffic {
			return NewLongLivedTraffic("lines", []string{python(b), script, pidFile}, time.Minute)
		}},
	} {
		b.Run(tc.form, func(b *testing.B) {
			tr := tc.new()
			defer tr.Close()
			ctx := context.Background()
			if _, err := tr.InFlight(ctx, "web", "a"); err != nil { // the long-lived process starts
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := tr.InFlight(ctx, "web", "a"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
