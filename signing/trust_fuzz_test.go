package signing

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fuzzTrustFile is the name the fuzzed trust files are parsed under: in
// testdata, so that the key files the seeds name (keys/cosign.pub, ...)
// are read, and a mutation of a name reaches a missing or other file.
var fuzzTrustFile = filepath.Join("testdata", "fuzz-trust.yaml")

// FuzzParseTrust parses fuzzed trust files. The parser must not panic; it
// must return a Trust or TrustErrors, never both nor neither; each error
// is in the trust file or a file it names, with a message and a position
// that is not negative, sorted as LoadTrust promises; a Trust it returns
// holds only rules LoadTrust's own checks accept (a valid glob with a host,
// keys or keyless identities, no repeated pattern, a known commit mode);
// and parsing the same bytes again gives the same answer.
func FuzzParseTrust(f *testing.F) {
	for _, name := range []string{"trust.yaml", "trust.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		"artifacts: unverified\ncommits: {mode: head, ssh: keys/allowed_signers}\n",
		"artifacts: unverified\ncommits: {mode: off}\n",
		"trustedRoot: sigstore/public-good.json\nartifacts:\n  - match: \"ghcr.io/acme/*\"\n    keyless:\n      - issuer: \"https://token.actions.githubusercontent.com\"\n        subjectRegExp: \"^https://github.com/acme/.*$\"\ncommits: {mode: off}\n",
		"artifacts:\n  - match: \"ghcr.io/acme/*\"\n    keyless: [{issuer: x, subject: y}]\ncommits: {mode: off}\n",
		"artifacts:\n  - &r {match: \"a.io/*\", keys: [keys/cosign.pub]}\n  - *r\ncommits: {mode: off}\n",
		"a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n",
		"artifacts:\n  - match: \"[\"\n    keys: [keys/cosign.pub]\n  - match: \"a.io/x:tag\"\n    keys: []\ncommits: {mode: sideways}\n",
		"artifacts:\n  - match: a.io/*\n    keys: [keys/cosign.pub]\n  - match: a.io/*\n    keys: [../trust.yaml, keys/alice.asc, keys/missing.pub]\ncommits:\n  mode: strict\n  openpgp: [keys/cosign.pub]\n  ssh: keys/cosign.pub\n",
		"commits: {mode: head, mode: off}\nartifacts: 12\nextra: 1\n",
		"\t- not yaml: [\n",
		"",
		"~",
		"[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]",
		"{\"artifacts\": [{\"match\": \"r.io/*\", \"keys\": [\"keys/cosign.pub\"], \"attestations\": [{}, {\"predicateType\": 1}, 2]}], \"commits\": {\"mode\": \"off\"}}",
		"artifacts: !!binary aGVsbG8=\ncommits: !!map {mode: !!str off}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if slices.ContainsFunc([]string{"dev", "proc", "sys"}, func(s string) bool { return strings.Contains(string(data), s) }) {
			t.Skip("a name of the host's special files: the parser reads what the trust file names")
		}
		tr, err := parseTrust(data, fuzzTrustFile)
		checkTrustAnswer(t, tr, err)
		again, errAgain := parseTrust(data, fuzzTrustFile)
		if errorText(err) != errorText(errAgain) || (tr == nil) != (again == nil) {
			t.Fatalf("two parses of the same bytes differ: %v / %v", err, errAgain)
		}
		if tr != nil && !slices.EqualFunc(tr.Artifacts, again.Artifacts, func(a, b ArtifactRule) bool { return a.Match == b.Match && a.At == b.At }) {
			t.Fatalf("two parses of the same bytes give different rules")
		}
	})
}

// checkTrustAnswer fails t unless parseTrust's answer keeps its promises.
func checkTrustAnswer(t *testing.T, tr *Trust, err error) {
	t.Helper()
	if (tr == nil) == (err == nil) {
		t.Fatalf("parseTrust returned trust %v and error %v: want exactly one", tr != nil, err)
	}
	if err != nil {
		checkTrustErrors(t, err)
		return
	}
	if tr.File != fuzzTrustFile {
		t.Errorf("trust file %q, want %q", tr.File, fuzzTrustFile)
	}
	switch tr.Commits.Mode {
	case CommitsHead, CommitsStrict, CommitsOff:
	default:
		t.Errorf("commit mode %q accepted", tr.Commits.Mode)
	}
	if tr.ArtifactsUnverified && (len(tr.Artifacts) > 0 || tr.Commits.Mode == CommitsOff) {
		t.Errorf("artifacts: unverified accepted with %d rules and commit mode %s", len(tr.Artifacts), tr.Commits.Mode)
	}
	seen := map[string]bool{}
	for _, r := range tr.Artifacts {
		if _, err := path.Match(r.Match, ""); err != nil || !strings.Contains(r.Match, "/") || seen[r.Match] {
			t.Errorf("rule at %s with pattern %q accepted", r.At, r.Match)
		}
		seen[r.Match] = true
		if len(r.Keys)+len(r.Keyless) == 0 {
			t.Errorf("rule at %s accepted with neither keys nor keyless identities", r.At)
		}
		if len(r.Keyless) > 0 && (r.sigstore == nil || tr.TrustedRoot == "") {
			t.Errorf("rule at %s accepted with keyless identities and no trusted root", r.At)
		}
		for _, k := range r.Keys {
			if !strings.HasPrefix(k.Fingerprint, "sha256:") {
				t.Errorf("rule at %s: key %s has fingerprint %q", r.At, k.File, k.Fingerprint)
			}
		}
	}
}

// checkTrustErrors fails t unless err is sorted, positioned TrustErrors.
func checkTrustErrors(t *testing.T, err error) {
	t.Helper()
	var errs TrustErrors
	if !errors.As(err, &errs) || len(errs) == 0 {
		t.Fatalf("parseTrust failed with %T, not TrustErrors: %v", err, err)
	}
	for i, e := range errs {
		if e.File == "" || strings.TrimSpace(e.Message) == "" || e.Line < 0 || e.Col < 0 {
			t.Errorf("error without a file, a message or a valid position: %#v", e)
		}
		if i > 0 && e.File == errs[i-1].File && (e.Line < errs[i-1].Line || e.Line == errs[i-1].Line && e.Col < errs[i-1].Col) {
			t.Errorf("errors out of order: %v before %v", errs[i-1], e)
		}
	}
}

// errorText is err's message, or "" for none.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
