// Package sops reads single values of SOPS-encrypted files kept in the
// desired-state repository: the ciphertext is what a revision committed, and
// it is decrypted on the reconciler's host with age identities its operator
// gave. It reads SOPS' file format itself, for age keys alone (the SOPS
// library links every key service SOPS has, cloud KMS clients and all, into
// the program): YAML, JSON and dotenv files load as SOPS' stores load them,
// the data key is recovered from the file's age stanzas, every value is
// authenticated (AES-256-GCM with its path as additional data), and the
// file's MAC is checked before any value is returned. A differential test
// (differential_test.go) holds it to the SOPS library.
//
// It must never take identities from anywhere but its caller (not the home
// directory, not the SOPS_AGE_* variables), never return a value from a file
// whose MAC does not verify, and never put a decrypted value, or any text a
// decryption step produced, into an error: errors name the file, the key and
// the fix, and list keys, never values.
package sops

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MaxFileBytes bounds an encrypted file: secrets are small, and a larger
// file is refused before it is parsed.
const MaxFileBytes = 1 << 20

var (
	// ErrNoIdentities: the caller gave no age identity to decrypt with.
	ErrNoIdentities = errors.New("no age identity is configured to decrypt SOPS files")
	// ErrNoMatchingIdentity: none of the identities is a recipient of
	// the file.
	ErrNoMatchingIdentity = errors.New("no age identity of the reconciler matches the file's recipients")
	// ErrIntegrity: the file was changed after it was encrypted (a value
	// does not authenticate, or the MAC does not match the values).
	ErrIntegrity = errors.New("the file fails its integrity check (MAC)")
	// ErrNoKey: the file has no value at the key.
	ErrNoKey = errors.New("no such key")
	// ErrNotString: the value at the key is a map, a list or null.
	ErrNotString = errors.New("not a single value")
)

// Document is a decrypted file, held in memory only as long as its caller
// keeps it, to read values from.
type Document struct {
	file   string
	dotenv bool
	root   branch
}

// format is a SOPS file format: how its text loads and where its metadata
// is.
type format struct {
	name string
	load func([]byte) ([]branch, error)
	// flatMetadata: the metadata is in sops_ variables (dotenv), not under
	// a "sops" key.
	flatMetadata bool
}

// formatOf chooses the format by the file's extension, as SOPS does.
func formatOf(file string) format {
	switch strings.ToLower(path.Ext(file)) {
	case ".json":
		return format{name: "JSON", load: loadJSON}
	case ".env":
		return format{name: "dotenv", load: loadDotenv, flatMetadata: true}
	}
	return format{name: "YAML", load: loadYAML}
}

// Decrypt decrypts ciphertext, the content of the SOPS file named file (a
// repository path, used for messages and to choose the format by its
// extension: .yaml or .yml, .json, .env; YAML otherwise), with ids.
func Decrypt(file string, ciphertext []byte, ids *Identities) (*Document, error) {
	if ids == nil || len(ids.ids) == 0 {
		return nil, fmt.Errorf("%s: %w", file, ErrNoIdentities)
	}
	if len(ciphertext) > MaxFileBytes {
		return nil, fmt.Errorf("%s: %d bytes, over the limit of %d bytes for a SOPS file; split its secrets into smaller files", file, len(ciphertext), MaxFileBytes)
	}
	f := formatOf(file)
	docs, err := f.load(ciphertext)
	if err != nil {
		return nil, loadError(file, f.name, err)
	}
	md, err := takeMetadata(docs, f.flatMetadata)
	if err != nil {
		return nil, fmt.Errorf("%s: not a SOPS-encrypted %s file: its SOPS metadata is not valid: %v; encrypt it again with sops", file, f.name, err)
	}
	if md == nil {
		return nil, fmt.Errorf("%s: has no SOPS metadata; encrypt it with sops --encrypt --age RECIPIENT --in-place %s", file, file)
	}
	key, err := dataKey(file, md, ids)
	if err != nil {
		return nil, err
	}

	// The MAC covers the values, their order and the metadata's choice of
	// what is encrypted; it is computed over what was decrypted.
	computed, err := decryptDocuments(docs, md, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: a value does not decrypt with the file's data key, so it was changed after encryption; restore the committed file, or edit it with sops rather than by hand", file, ErrIntegrity)
	}
	stored, err := decryptValue(md.mac, key, md.lastModified)
	if s, ok := stored.(string); err != nil || !ok || subtle.ConstantTimeCompare([]byte(s), []byte(computed)) != 1 {
		return nil, fmt.Errorf("%s: %w: the values do not match the file's MAC, so the file was changed after encryption; restore the committed file, or edit it with sops rather than by hand", file, ErrIntegrity)
	}
	// Only the first document of a multi-document YAML file is read.
	return &Document{file: file, dotenv: f.flatMetadata, root: docs[0]}, nil
}

// takeMetadata removes the SOPS metadata from docs and reads it, or is nil
// when the file has none. As in SOPS, a YAML file's metadata is its first
// document's, and the "sops" key is removed from every document.
func takeMetadata(docs []branch, flat bool) (*metadata, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	var tree any
	if flat {
		var err error
		if docs[0], tree, err = takeDotenvMetadata(docs[0]); err != nil {
			return nil, err
		}
	} else {
		found := false
		for d, doc := range docs {
			kept := doc[:0]
			for _, it := range doc {
				if k, ok := it.key.(string); !ok || k != metadataKey {
					kept = append(kept, it)
					continue
				}
				if d > 0 {
					continue
				}
				if found {
					return nil, &metadataError{"the file has two sops entries"}
				}
				found = true
				b, ok := it.value.(branch)
				if !ok {
					return nil, &metadataError{"its sops entry is not a mapping"}
				}
				plain, err := plainTree(b)
				if err != nil {
					return nil, err
				}
				tree = plain
			}
			docs[d] = kept
		}
	}
	if tree == nil {
		return nil, nil
	}
	m, ok := tree.(map[string]any)
	if !ok {
		return nil, &metadataError{"it is not a mapping"}
	}
	return parseMetadata(m)
}

// parseError says where a file does not load, never what it holds.
type parseError struct {
	line int    // 0 when unknown
	why  string // what is wrong, quoting nothing; "" for a parser's error
}

func (e *parseError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.why) }

// loadError says that file does not load as a SOPS file of format,
// without a parser's own message: it may quote the file's text (a YAML
// parser's message quotes a value of the wrong type), and a file that does
// not load may be a secret that was never encrypted. It gives the line
// where it has one.
func loadError(file, format string, err error) error {
	line, why := 0, ""
	var pe *parseError
	if errors.As(err, &pe) {
		line, why = pe.line, pe.why
	} else if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	where := ""
	if line > 0 {
		where = fmt.Sprintf(" at line %d", line)
	}
	if why == "" {
		why = "the parser's message may quote the file, so it is left out"
	}
	return fmt.Errorf("%s: not a SOPS-encrypted %s file: it does not parse%s (%s); the format follows the file name's extension (.yaml, .yml, .json, .env)", file, format, where, why)
}

// yamlLine finds the line a YAML parser's message gives.
var yamlLine = regexp.MustCompile(`\bline (\d+)\b`)

// Value returns the value at key: dotted for nested keys of YAML and JSON
// ("db.password"), the variable's name in a dotenv file. A number or a
// boolean is formatted; a map, a list or null is an error naming the key.
func (d *Document) Value(key string) (string, error) {
	segs := []string{key}
	if !d.dotenv {
		segs = strings.Split(key, ".")
	}
	var cur any = d.root
	for i, seg := range segs {
		b, ok := cur.(branch)
		if !ok {
			return "", d.noKey(key, fmt.Sprintf("%s holds %s, not keys", strings.Join(segs[:i], "."), kind(cur)))
		}
		found := false
		for _, it := range b {
			if k, ok := keyString(it.key); ok && k == seg {
				cur, found = it.value, true
				break
			}
		}
		if !found {
			return "", d.noKey(key, "")
		}
	}
	switch v := cur.(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	case int:
		return strconv.Itoa(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	case time.Time:
		return v.Format(time.RFC3339Nano), nil
	case branch:
		return "", fmt.Errorf("%s: key %s: %w: it holds a map (keys %s); name one value, e.g. %s", d.file, key, ErrNotString,
			strings.Join(limit(leafKeys(key, v), 10), ", "), firstOr(leafKeys(key, v), key+".KEY"))
	}
	return "", fmt.Errorf("%s: key %s: %w: it holds %s; an environment variable needs a string, a number or a boolean", d.file, key, ErrNotString, kind(cur))
}

// Keys lists the file's keys, dotted, in the file's order: the values'
// names, never the values.
func (d *Document) Keys() []string { return leafKeys("", d.root) }

func (d *Document) noKey(key, why string) error {
	keys := d.Keys()
	has := "the file has no keys"
	if len(keys) > 0 {
		has = "the file has keys: " + strings.Join(limit(keys, 20), ", ")
	}
	if why != "" {
		why = " (" + why + ")"
	}
	return fmt.Errorf("%s: %w %s%s; %s", d.file, ErrNoKey, key, why, has)
}

// leafKeys lists the dotted paths of a branch's values under prefix.
func leafKeys(prefix string, b branch) []string {
	var out []string
	for _, it := range b {
		k, ok := keyString(it.key)
		if !ok {
			continue
		}
		if prefix != "" {
			k = prefix + "." + k
		}
		if sub, ok := it.value.(branch); ok {
			out = append(out, leafKeys(k, sub)...)
			continue
		}
		out = append(out, k)
	}
	return out
}

// keyString is an item's key, or false for a comment (after the walk,
// every other key is a string).
func keyString(k any) (string, bool) {
	s, ok := k.(string)
	return s, ok
}

// kind names a value's type without showing it.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case branch:
		return "a map"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("a value of type %T", v)
}

func limit(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("… (%d more)", len(s)-n))
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return "(one of) " + strings.Join(s, ", ")
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
