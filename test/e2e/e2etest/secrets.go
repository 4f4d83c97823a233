package e2etest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SecretsDir makes the reconciler's secrets directory (durable run
// --secrets-dir), writable by its user alone, allows it the variables env
// (--secret-env), and returns the directory. AssertNoSecretKept does not
// search it: it holds the values.
func (f *Fixture) SecretsDir(env ...string) string {
	f.t.Helper()
	dir := f.secretsDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		f.t.Fatal(err)
	}
	f.ExtraArgs = append(f.ExtraArgs, "--secrets-dir", dir)
	if len(env) > 0 {
		f.ExtraArgs = append(f.ExtraArgs, "--secret-env", strings.Join(env, ","))
	}
	return dir
}

func (f *Fixture) secretsDir() string { return filepath.Join(f.Dir, "secrets") }

// SecretForms are the texts a value may leak as: itself, and its base64
// (standard and URL alphabets, padded or not), hex and URL-encoded forms.
func SecretForms(value string) map[string]string {
	b := []byte(value)
	return map[string]string{
		"value":  value,
		"base64": base64.StdEncoding.EncodeToString(b), "base64 unpadded": base64.RawStdEncoding.EncodeToString(b),
		"base64url": base64.URLEncoding.EncodeToString(b), "base64url unpadded": base64.RawURLEncoding.EncodeToString(b),
		"hex": hex.EncodeToString(b), "HEX": strings.ToUpper(hex.EncodeToString(b)),
		"query-escaped": url.QueryEscape(value), "path-escaped": url.PathEscape(value),
	}
}

// AssertNoSecretKept checks that none of values, in any of its
// SecretForms, is in what the reconciler shows (its status and journal, as
// served) nor in any file under the fixture's directory — the reconciler's
// state (journal, source cache, process runtime with the instances' logs),
// its log, the router's log — but the secrets directory.
func (f *Fixture) AssertNoSecretKept(ctx context.Context, t *testing.T, values ...string) {
	t.Helper()
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	status, _ := json.Marshal(s)
	entries, err := f.API.Journal(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	entriesJSON, _ := json.Marshal(entries)
	texts := map[string][]byte{"status": status, "journal as served": entriesJSON}
	searched := 0
	err = filepath.WalkDir(f.Dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && p == f.secretsDir():
			return filepath.SkipDir
		case !d.Type().IsRegular():
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(f.Dir, p)
		searched++
		f.findSecrets(t, rel, b, values)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for what, b := range texts {
		f.findSecrets(t, what, b, values)
	}
	t.Logf("searched the status, the journal and %d files for %d secret(s) in %d forms each", searched, len(values), len(SecretForms("")))
}

func (f *Fixture) findSecrets(t *testing.T, what string, b []byte, values []string) {
	t.Helper()
	for _, v := range values {
		for form, text := range SecretForms(v) {
			if bytes.Contains(b, []byte(text)) {
				t.Errorf("%s holds a secret's value (%s form)", what, form)
			}
		}
	}
}
