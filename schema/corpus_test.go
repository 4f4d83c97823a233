package schema

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*/want.txt from what the loader reports")

// TestInvalidCorpus loads each repository under testdata/invalid and
// compares every error it reports, in order, with its want.txt. After a
// deliberate change to a message, run go test ./schema -run TestInvalidCorpus
// -update and read the diff.
func TestInvalidCorpus(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join("testdata", "invalid", "*"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no corpus under testdata/invalid: %v", err)
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			_, err := LoadDir(filepath.Join(dir, "repo"))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("LoadDir: got %v, want schema.Errors", err)
			}
			got := errs.Error() + "\n"
			want := filepath.Join(dir, "want.txt")
			if *update {
				if err := os.WriteFile(want, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(b) {
				t.Errorf("errors differ from %s:\ngot:\n%swant:\n%s", want, got, b)
			}
			// Every error is positioned in the repository's own files.
			for _, e := range errs {
				if e.File == "" || e.Line == 0 || strings.Contains(e.File, "durable.cue") {
					t.Errorf("error not positioned in the repository: %s", e)
				}
			}
		})
	}
}
