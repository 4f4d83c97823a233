package approvals

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzTrailers reads the trailers of fuzzed commit messages. It must not
// panic; every key is a word without spaces or a colon; there are no more
// values than lines in the message; each value is trimmed; and the
// trailers written back as the last paragraph of a message, in key order,
// read again the same.
func FuzzTrailers(f *testing.F) {
	for _, seed := range []string{
		"Deploy v2\n\nBecause.\n\nTicket: OPS-1\nReviewed-by: Bob <bob@example.com>\nTicket: OPS-2",
		"Approve web for prod\n\nApproved-by: alice@example.com\nSigned-off-by: Alice <alice@example.com>\n",
		"One line: not a trailer",
		"Subject\n\nA paragraph of prose: not trailers at all.",
		"Subject\n\nKey:\n: value\nKey: a: b\n",
		"Subject\n\n\n\nKey:   spaced   \r\nOther:\tx",
		"\n\n\n\n",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		got := Trailers(msg)
		values := 0
		for k, vs := range got {
			if k == "" || strings.ContainsAny(k, " \t:\n") {
				t.Fatalf("trailer key %q", k)
			}
			for _, v := range vs {
				if v != strings.TrimSpace(v) || strings.Contains(v, "\n") {
					t.Fatalf("trailer %s value %q", k, v)
				}
			}
			values += len(vs)
		}
		if lines := strings.Count(msg, "\n") + 1; values > lines {
			t.Fatalf("%d trailer values from %d lines", values, lines)
		}
		if len(got) == 0 {
			return
		}
		var b strings.Builder
		b.WriteString("Subject\n\n")
		for _, k := range slices.Sorted(maps.Keys(got)) {
			for _, v := range got[k] {
				fmt.Fprintf(&b, "%s: %s\n", k, v)
			}
		}
		if again := Trailers(b.String()); !reflect.DeepEqual(again, got) {
			t.Fatalf("written back as %q, the trailers read %v, not %v", b.String(), again, got)
		}
	})
}
