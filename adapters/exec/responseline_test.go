package exec

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// agreeWithStrict fails t unless decodeResponseLine reads line as
// decodeStrict does: the same response, or the same error.
func agreeWithStrict(t *testing.T, line []byte) (fast bool) {
	t.Helper()
	var want, got lineResponse
	wantErr := decodeStrict(line, &want)
	gotErr := decodeResponseLine(line, &got)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("line %q:\n got %+v, %v\nwant %+v, %v", line, got, gotErr, want, wantErr)
	}
	return wantErr == nil
}

// randomResponseLine is a line a plug-in may print: mostly a call number
// and a result (of every JSON kind, nested, with escapes), in either order,
// spaced or not; sometimes with an error, a key spelled otherwise or given
// twice, an unknown key, a call that is no call number, text after the
// value, or cut short.
func randomResponseLine(rng *rand.Rand) string {
	results := []string{`null`, `1`, `-2.5e3`, `"x\"\u00e9\n"`, `true`, `[]`, `{}`,
		`[{"id": "web-1", "instances": [{"index": 0, "endpoint": "127.0.0.1:8080"}]}]`,
		`{"service": "web", "backends": [{"set": "a", "weight": 100}]}`, `[[[[[]]]]]`}
	calls := []string{`7`, `0`, `null`, `-1`, `1.5`, `"7"`, `18446744073709551615`, `18446744073709551616`, `{}`}
	keys := []string{`"call"`, `"result"`, `"Call"`, `"RESULT"`, `"error"`, `"extra"`, `"c\u0061ll"`}
	var fields []string
	for range rng.IntN(4) {
		key := keys[rng.IntN(len(keys))]
		if rng.IntN(2) == 0 {
			key = keys[rng.IntN(2)]
		}
		var value string
		switch key {
		case `"call"`, `"Call"`:
			value = calls[rng.IntN(len(calls))]
		case `"error"`:
			value = []string{`null`, `{"kind": "not-found", "message": "m"}`, `{"kind": "x", "other": 1}`, `{"message": "n"}`}[rng.IntN(4)]
		default:
			value = results[rng.IntN(len(results))]
		}
		space := []string{"", " ", "\t\r\n "}[rng.IntN(3)]
		fields = append(fields, key+":"+space+value)
	}
	line := "{" + strings.Join(fields, ",") + "}"
	switch rng.IntN(10) {
	case 0:
		line += " garbage"
	case 1:
		line = line[:rng.IntN(len(line))]
	case 2:
		line = []string{"null", "[]", "7", `"s"`, ""}[rng.IntN(5)]
	case 3:
		line = " " + line + " {}"
	}
	return line + []string{"\n", "\r\n", ""}[rng.IntN(3)]
}

// TestResponseLineAgreesWithStrict: decodeResponseLine reads what
// decodeStrict reads, and fails as it does, on 20,000 generated lines, of
// which many take its shortcut and many do not.
func TestResponseLineAgreesWithStrict(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 3))
	accepted, refused, shortcut := 0, 0, 0
	for range 20000 {
		line := []byte(randomResponseLine(rng))
		if agreeWithStrict(t, line) {
			accepted++
		} else {
			refused++
		}
		var members map[string]member
		if json.Unmarshal(line, &members) == nil && onlyCallAndResult(line, members) {
			shortcut++
		}
	}
	if accepted < 1000 || refused < 1000 || shortcut < 1000 || accepted-shortcut < 500 {
		t.Fatalf("%d lines accepted (%d through the shortcut) and %d refused: the generator covers too little", accepted, shortcut, refused)
	}
	t.Logf("%d lines accepted (%d through the shortcut), %d refused", accepted, shortcut, refused)
}
