package exec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/adapters"
)

// FuzzPluginReplies feeds fuzzed standard output of a long-lived plug-in
// through the line reader and the decoding of each line as the answer to
// call n, then decodes each response into every result type the adapters
// read. The reader must hand back exactly the bytes it was given, one line
// at a time; each line must read the same through decodeResponseLine's
// shortcut as through decodeStrict; a line that decodes must decode again, to the same, once
// written back; and every error a response carries or its result causes
// must be one of the adapters' typed errors, the one its kind names. The
// whole output, decoded as a one-shot plug-in's answer, is accepted only if
// it is one JSON value, and then read the same way.
func FuzzPluginReplies(f *testing.F) {
	for _, seed := range []string{
		`{"call": 1, "result": {"version": 1}}` + "\n",
		`{"call": 7, "result": [{"id": "web-1", "service": "web", "release": "abc", "instances": [{"index": 0, "endpoint": "127.0.0.1:8080"}]}]}` + "\n",
		`{"call": 7, "result": {"service": "web", "backends": [{"set": "a", "weight": 100, "endpoints": ["127.0.0.1:1"]}]}}` + "\n",
		`{"call": 7, "result": 3}` + "\n" + `{"call": 8, "result": null}` + "\n",
		`{"call": 7, "error": {"kind": "not-found", "message": "no set web-1"}}` + "\n",
		`{"call": 7, "error": {"kind": "sideways", "message": ""}}`,
		`{"call": 7, "error": null, "result": {}}` + "\n",
		`{"call": 6, "result": 1}` + "\n",
		`{"result": 1}` + "\n",
		`{"call": -1, "result": 1}` + "\n",
		`{"call": 18446744073709551616, "result": 1}` + "\n",
		`{"call": 7, "result": 1, "extra": true}` + "\n",
		`{"call": 7, "result": 1} {"call": 7}` + "\n",
		`{"call": 7, "result": 1}garbage` + "\n",
		`{"result": 1}` + "\n" + `{"result": 2}` + "\n",
		" \t" + `{"result": {"version": 1}}` + "\r\n",
		`{"call": 7, "result": [[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}` + "\n",
		`{"call": 7, "result": "` + strings.Repeat("x", 100) + `"}` + "\r\n",
		"\n\n\x00\xff{\n",
		"",
	} {
		f.Add([]byte(seed), uint64(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, n uint64) {
		var whole response
		if err := decodeStrict(data, &whole); err == nil {
			if !json.Valid(data) {
				t.Fatalf("the one-shot answer %q, not one JSON value, was accepted", data)
			}
			checkInto(t, whole)
		}
		for _, line := range readAllLines(t, data) {
			agreeWithStrict(t, line)
			resp, err := decodeLine(line, n)
			if err != nil {
				continue
			}
			checkRoundTrip(t, resp, n)
			checkInto(t, resp)
		}
	})
}

// readAllLines reads data with readLine through the smallest buffer bufio
// allows, so that long lines are read in pieces, and checks the lines put
// back together are data.
func readAllLines(t *testing.T, data []byte) [][]byte {
	t.Helper()
	br := bufio.NewReaderSize(bytes.NewReader(data), 16)
	var lines [][]byte
	for {
		line, err := readLine(br)
		if i := bytes.IndexByte(line, '\n'); i >= 0 && i != len(line)-1 {
			t.Fatalf("line %q holds a newline before its end", line)
		}
		if len(line) > 0 {
			lines = append(lines, line)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("readLine failed on %d bytes: %v", len(data), err)
		}
	}
	if got := bytes.Join(lines, nil); !bytes.Equal(got, data) {
		t.Fatalf("the lines read are %q, not the %q written", got, data)
	}
	return lines
}

// checkRoundTrip writes resp back as the answer to call n and decodes it
// again: it must be the same response.
func checkRoundTrip(t *testing.T, resp response, n uint64) {
	t.Helper()
	line, err := json.Marshal(lineResponse{Call: &n, response: resp})
	if err != nil {
		t.Fatalf("a decoded response does not encode: %v", err)
	}
	again, err := decodeLine(line, n)
	if err != nil {
		t.Fatalf("a decoded response, written back as %s, does not decode: %v", line, err)
	}
	first, _ := json.Marshal(resp)
	second, _ := json.Marshal(again)
	if !bytes.Equal(first, second) {
		t.Fatalf("a response decodes again as %s, not %s", second, first)
	}
}

// checkInto decodes resp's result into every type an adapter reads, and
// checks the errors are typed.
func checkInto(t *testing.T, resp response) {
	t.Helper()
	var (
		hello struct {
			Version int `json:"version"`
		}
		set    setJSON
		sets   []setJSON
		split  adapters.Split
		splits []adapters.Split
		n      int
	)
	for _, out := range []any{nil, &hello, &set, &sets, &split, &splits, &n} {
		err := resp.into("fuzz", out)
		switch {
		case resp.Error != nil:
			want, ok := errorKinds[resp.Error.Kind]
			if !ok {
				want = adapters.ErrUnavailable
			}
			if !errors.Is(err, want) {
				t.Fatalf("an error of kind %q gave %v, not %v", resp.Error.Kind, err, want)
			}
		case err != nil && !errors.Is(err, adapters.ErrUnavailable):
			t.Fatalf("a result that does not decode gave an untyped error: %v", err)
		}
	}
}
