// Package sops reads single values of SOPS-encrypted files kept in the
// desired-state repository: the ciphertext is what a revision committed, and
// it is decrypted on the reconciler's host with age identities its operator
// gave. Decryption is SOPS' own (github.com/getsops/sops/v3): the data key is
// recovered through a key service that holds only those identities, every
// value is authenticated, and the file's MAC is checked before any value is
// returned.
//
// It must never take identities from anywhere but its caller (not the home
// directory, not the SOPS_AGE_* variables), never return a value from a file
// whose MAC does not verify, and never put a decrypted value, or any text a
// decryption step produced, into an error: errors name the file, the key and
// the fix, and list keys, never values.
//
// Note that SOPS' audit package, linked in with the library, reads
// /etc/sops/audit.yaml when the program starts, as the sops command does.
package sops

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/stores/dotenv"
	"github.com/getsops/sops/v3/stores/json"
	"github.com/getsops/sops/v3/stores/yaml"
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
	root   sops.TreeBranch
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
	format, store := storeFor(file)
	tree, err := store.LoadEncryptedFile(ciphertext)
	if errors.Is(err, sops.MetadataNotFound) {
		return nil, fmt.Errorf("%s: has no SOPS metadata; encrypt it with sops --encrypt --age RECIPIENT --in-place %s", file, file)
	}
	if err != nil {
		return nil, loadError(file, format, ciphertext, err)
	}

	ks := &ageKeyService{ids: sopsage.ParsedIdentities(ids.ids)}
	dataKey, err := tree.Metadata.GetDataKeyWithKeyServices([]keyservice.KeyServiceClient{keyservice.NewCustomLocalClient(ks)}, nil)
	if err != nil {
		return nil, dataKeyError(file, tree.Metadata, ids, ks, err)
	}

	// The MAC covers the values, their order and the metadata's choice of
	// what is encrypted; Tree.Decrypt computes it over what it decrypted.
	// Decryption errors are not wrapped: SOPS' messages may quote a
	// decrypted value.
	cipher := aes.NewCipher()
	computed, err := tree.Decrypt(dataKey, cipher)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: a value does not decrypt with the file's data key, so it was changed after encryption; restore the committed file, or edit it with sops rather than by hand", file, ErrIntegrity)
	}
	stored, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil || stored != computed {
		return nil, fmt.Errorf("%s: %w: the values do not match the file's MAC, so the file was changed after encryption; restore the committed file, or edit it with sops rather than by hand", file, ErrIntegrity)
	}
	doc := &Document{file: file, dotenv: format == "dotenv"}
	if len(tree.Branches) > 0 {
		// Only the first document of a multi-document YAML file is read.
		doc.root = tree.Branches[0]
	}
	return doc, nil
}

// loadError says that file does not load as a SOPS file of format,
// without the store's own message: it may quote the file's text (the
// dotenv store quotes a line without "=", the JSON store a top-level
// value, the YAML one a value of the wrong type), and a file that does not
// load may be a secret that was never encrypted. It gives the line when
// the message has one, or for dotenv the first line without "=".
func loadError(file, format string, text []byte, err error) error {
	where := ""
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		where = " at line " + m[1]
	} else if n := dotenvBadLine(text); format == "dotenv" && n > 0 {
		where = fmt.Sprintf(" at line %d (a line without \"=\")", n)
	}
	return fmt.Errorf("%s: not a SOPS-encrypted %s file: it does not parse%s (the parser's message may quote the file, so it is left out); the format follows the file name's extension (.yaml, .yml, .json, .env)", file, format, where)
}

// yamlLine finds the line a YAML parser's message gives.
var yamlLine = regexp.MustCompile(`\bline (\d+)\b`)

// dotenvBadLine is the number of the first line of a dotenv text that is
// neither empty, a comment, nor has a "=", or 0 if there is none.
func dotenvBadLine(text []byte) int {
	for i, line := range bytes.Split(text, []byte("\n")) {
		if len(line) > 0 && line[0] != '#' && !bytes.Contains(line, []byte("=")) {
			return i + 1
		}
	}
	return 0
}

// storeFor chooses SOPS' store by the file's extension.
func storeFor(file string) (string, sops.EncryptedFileLoader) {
	switch strings.ToLower(path.Ext(file)) {
	case ".json":
		return "JSON", json.NewStore(&config.JSONStoreConfig{})
	case ".env":
		return "dotenv", dotenv.NewStore(&config.DotenvStoreConfig{})
	}
	return "YAML", yaml.NewStore(&config.YAMLStoreConfig{})
}

// dataKeyError says why the data key could not be had, and how to fix it.
func dataKeyError(file string, md sops.Metadata, ids *Identities, ks *ageKeyService, err error) error {
	var ageRecipients, others []string
	for _, group := range md.KeyGroups {
		for _, k := range group {
			if a, ok := k.(*sopsage.MasterKey); ok {
				ageRecipients = append(ageRecipients, a.Recipient)
			} else {
				others = append(others, k.TypeToIdentifier())
			}
		}
	}
	fix := fmt.Sprintf("add the reconciler's public key %s to the file's recipients (in .sops.yaml, then sops updatekeys %s)", orList(ids.recipients), file)
	switch {
	case len(ageRecipients) == 0:
		return fmt.Errorf("%s: %w: the file is encrypted to no age key (only to %s, which durable does not use); %s", file, ErrNoMatchingIdentity, strings.Join(uniq(others), ", "), fix)
	case ks.noMatch:
		return fmt.Errorf("%s: %w: the file is encrypted to %s, and the identities of %s are for %s; %s", file, ErrNoMatchingIdentity, strings.Join(ageRecipients, ", "), ids.source, strings.Join(ids.recipients, ", "), fix)
	}
	// Errors about the data key hold no plaintext: the key is what failed.
	return fmt.Errorf("%s: cannot decrypt the file's data key with the identities of %s: %v", file, ids.source, err)
}

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
		branch, ok := cur.(sops.TreeBranch)
		if !ok {
			return "", d.noKey(key, fmt.Sprintf("%s holds %s, not keys", strings.Join(segs[:i], "."), kind(cur)))
		}
		found := false
		for _, item := range branch {
			if k, ok := keyString(item.Key); ok && k == seg {
				cur, found = item.Value, true
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
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	case time.Time:
		return v.Format(time.RFC3339Nano), nil
	case sops.TreeBranch:
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
func leafKeys(prefix string, branch sops.TreeBranch) []string {
	var out []string
	for _, item := range branch {
		k, ok := keyString(item.Key)
		if !ok {
			continue
		}
		if prefix != "" {
			k = prefix + "." + k
		}
		if sub, ok := item.Value.(sops.TreeBranch); ok {
			out = append(out, leafKeys(k, sub)...)
			continue
		}
		out = append(out, k)
	}
	return out
}

// keyString is an item's key, or false for a comment.
func keyString(k any) (string, bool) {
	switch k := k.(type) {
	case sops.Comment:
		return "", false
	case string:
		return k, true
	}
	return fmt.Sprint(k), true
}

// kind names a value's type without showing it.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case sops.TreeBranch:
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
