package schema

import (
	"strings"
	"testing"
)

func TestErrorString(t *testing.T) {
	cases := []struct {
		err  Error
		want string
	}{
		{Error{File: "a.cue", Line: 3, Col: 7, Path: "x", Message: "x: bad"}, "a.cue:3:7: x: bad"},
		{Error{File: "a.cue", Message: "is too big"}, "a.cue: is too big"},
		{Error{Message: "no .cue files"}, "no .cue files"},
	}
	for _, c := range cases {
		if got := c.err.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}

func TestErrorsNormalize(t *testing.T) {
	errs := Errors{
		{File: "b.cue", Line: 1, Col: 1, Message: "m"},
		{File: "a.cue", Line: 2, Col: 1, Message: "m"},
		{File: "a.cue", Line: 1, Col: 9, Message: "m"},
		{File: "a.cue", Line: 1, Col: 9, Message: "m"},
		{File: "a.cue", Line: 10, Col: 1, Message: "m"},
	}.normalize()
	want := "a.cue:1:9: m\na.cue:2:1: m\na.cue:10:1: m\nb.cue:1:1: m"
	if got := errs.Error(); got != want {
		t.Errorf("normalized:\n%s\nwant:\n%s", got, want)
	}
}

func TestPrintable(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"héllo ☃ 𝄞", "héllo ☃ 𝄞"},
		{"a\x1b[31mb", `a\u001b[31mb`},
		{"line\nbreak\r", `line\u000abreak\u000d`},
		{"rtl\u202eevil\u2066", `rtl\u202eevil\u2066`},
		{"sep\u2028", `sep\u2028`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"real \uFFFD stays", "real \uFFFD stays"},
		{strings.Repeat("y", 1000), strings.Repeat("y", maxMessage) + "…"},
	}
	for _, c := range cases {
		if got := printable(c.in); got != c.want {
			t.Errorf("printable(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
