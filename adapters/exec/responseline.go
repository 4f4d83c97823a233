package exec

import (
	"bytes"
	"encoding/json"
	"slices"
)

// decodeResponseLine is decodeStrict(line, resp) without, for the common
// line (a call number and a result, keys as the protocol spells them, each
// once), decodeStrict's copies of the line: its decoder reads the whole
// value into a buffer of its own, then copies the result out of it, and a
// listing of a fleet's sets is megabytes, read by every target's observer
// at once (at 10,000 services the decoders' buffers held 16 of the 163 MB
// live at the reconciler's peak). The result it returns is a slice
// of line. Any other line (an error, a key spelled otherwise or given
// twice, text after the value, anything that does not decode) goes
// through decodeStrict, so that both read the same, and fail with the same
// message (TestResponseLineAgreesWithStrict).
func decodeResponseLine(line []byte, resp *lineResponse) error {
	var members map[string]member
	if json.Unmarshal(line, &members) == nil && onlyCallAndResult(line, members) {
		var fast lineResponse
		if m, ok := members["result"]; ok {
			fast.Result = json.RawMessage(m.value(line))
		}
		m, ok := members["call"]
		if !ok || json.Unmarshal(m.value(line), &fast.Call) == nil {
			*resp = fast
			return nil
		}
	}
	return decodeStrict(line, resp)
}

// member is where one member's value lies in the line it was decoded
// from: encoding/json hands an Unmarshaler a slice of its input, so that
// its offset is the difference of the capacities.
type member struct{ end, size int } // end is the capacity left after it

func (m *member) UnmarshalJSON(b []byte) error {
	m.end, m.size = cap(b)-len(b), len(b)
	return nil
}

// value is m's text in line, nil when m is not in line.
func (m member) value(line []byte) []byte {
	start := cap(line) - m.end - m.size
	if start < 0 || start+m.size > len(line) {
		return nil
	}
	return line[start : start+m.size]
}

// onlyCallAndResult reports whether line, a JSON object that decoded to
// members, is made of the members "call" and "result" only, each once,
// spelled so: between their values, only white space, the keys, colons,
// a comma and the braces. An error object is left to decodeStrict (a key
// given twice merges the objects there), and so is any other key.
func onlyCallAndResult(line []byte, members map[string]member) bool {
	keys := make([]string, 0, len(members))
	for key := range members {
		if key != "call" && key != "result" {
			return false
		}
		keys = append(keys, key)
	}
	slices.SortFunc(keys, func(a, b string) int { return members[b].end - members[a].end }) // in line's order
	rest := trimSpace(line)
	if len(rest) == 0 || rest[0] != '{' {
		return false
	}
	rest = rest[1:]
	for i, key := range keys {
		if i > 0 {
			if rest = trimSpace(rest); len(rest) == 0 || rest[0] != ',' {
				return false
			}
			rest = rest[1:]
		}
		head := []byte(`"` + key + `"`)
		if rest = trimSpace(rest); !bytes.HasPrefix(rest, head) {
			return false
		}
		if rest = trimSpace(rest[len(head):]); len(rest) == 0 || rest[0] != ':' {
			return false
		}
		value := members[key].value(line)
		rest = trimSpace(rest[1:])
		if value == nil || len(rest) < len(value) || cap(rest) != cap(value) {
			return false // the value is not where the text says it starts
		}
		rest = rest[len(value):]
	}
	return string(trimSpace(rest)) == "}"
}

// trimSpace drops JSON's white space from the start and the end of b.
func trimSpace(b []byte) []byte {
	return bytes.Trim(b, " \t\r\n")
}
