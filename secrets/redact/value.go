package redact

import (
	"bytes"
	"encoding/json"
)

// Value is v with every string in it redacted, for a record about to be
// kept (a journal entry, a revision, a rollout): it goes through JSON, so
// it covers every field v's JSON encoding has, raw JSON fields included.
// A v with nothing to redact comes back as it was, byte for byte. On a
// failure to re-encode, ok is false and the record must not be kept.
func Value[T any](r *Redactor, v T) (out T, ok bool) {
	if r.empty() {
		return v, true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v, false
	}
	if r.String(string(b)) == string(b) {
		return v, true
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return v, false
	}
	if b, err = json.Marshal(r.tree(tree)); err != nil {
		return v, false
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return v, false
	}
	return out, true
}

// tree redacts the strings of a decoded JSON value, keys included.
func (r *Redactor) tree(v any) any {
	switch v := v.(type) {
	case string:
		return r.String(v)
	case []any:
		for i := range v {
			v[i] = r.tree(v[i])
		}
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[r.String(k)] = r.tree(x)
		}
		return out
	}
	return v
}
