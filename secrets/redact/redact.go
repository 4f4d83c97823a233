// Package redact removes the values of resolved secrets from what leaves
// the reconciler's memory — adapter errors, logs, the journal, the API —
// replacing each with "[redacted secretEnv.NAME]".
//
// A value is looked for as it is and in the forms a program is likely to
// print it in: JSON-escaped (an exec plug-in echoing its request), base64
// (standard and URL alphabets, at any of the three alignments it can have
// inside a longer encoded text, so "user:"+value is caught too), hex (lower
// and upper case) and URL-encoded (query and path escaping). Values shorter
// than MinLength bytes are not redacted: such a value matches ordinary
// text ("on", "1234"), and replacing every occurrence would garble messages
// and show where the value's text occurs; a secret that short is no secret.
//
// Values are kept for the life of the process: a rotated value may still
// show up in a late error. The package must never log, store or return a
// value it was given.
package redact

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// MinLength is the length in bytes under which a value is not redacted.
const MinLength = 6

// Redactor replaces the secret values it was given. The zero value and nil
// redact nothing; it is safe for concurrent use.
type Redactor struct {
	mu       sync.RWMutex
	forms    map[string]string // a form of a value → its replacement
	replacer *strings.Replacer
}

// New is a Redactor with no values yet.
func New() *Redactor { return &Redactor{} }

// Add makes name's value (name as "secretEnv.DB_PASSWORD") redacted from
// now on, in every form.
func (r *Redactor) Add(name, value string) {
	if r == nil || len(value) < MinLength {
		return
	}
	repl := "[redacted " + name + "]"
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.forms == nil {
		r.forms = map[string]string{}
	}
	added := false
	for _, f := range forms(value) {
		if _, ok := r.forms[f]; !ok && len(f) >= MinLength {
			r.forms[f], added = repl, true
		}
	}
	if added {
		r.replacer = newReplacer(r.forms)
	}
}

// String is s with every form of every value replaced.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	rep := r.replacer
	r.mu.RUnlock()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}

// empty says whether r has no value to redact yet.
func (r *Redactor) empty() bool {
	if r == nil {
		return true
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.replacer == nil
}

// newReplacer prefers the longest form where forms overlap: a
// strings.Replacer tries its pairs in order at each position.
func newReplacer(forms map[string]string) *strings.Replacer {
	keys := make([]string, 0, len(forms))
	for f := range forms {
		keys = append(keys, f)
	}
	slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		pairs = append(pairs, k, forms[k])
	}
	return strings.NewReplacer(pairs...)
}

// forms are the texts value is looked for as.
func forms(value string) []string {
	out := []string{value, strings.ToUpper(hex.EncodeToString([]byte(value))), hex.EncodeToString([]byte(value)),
		url.QueryEscape(value), url.PathEscape(value)}
	if b, err := json.Marshal(value); err == nil {
		out = append(out, string(b[1:len(b)-1]))
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		out = append(out, base64Cores(enc, []byte(value))...)
	}
	return out
}

// base64Cores are the parts of value's encoding that are the same
// wherever it sits in a longer encoded text: at each of the three
// alignments, the characters made of value's bits alone (the first and
// last may mix in a neighbour's, and are left out).
func base64Cores(enc *base64.Encoding, value []byte) []string {
	var out []string
	for k := range 3 {
		text := enc.EncodeToString(append(make([]byte, k), value...))
		start := (8*k + 5) / 6 // the first character with no bit of the k bytes before
		end := len(text)
		if (8*(k+len(value)))%6 != 0 {
			end-- // the last character holds padding bits, or the next byte's
		}
		if end > start {
			out = append(out, text[start:end])
		}
	}
	return out
}
