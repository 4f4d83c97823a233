package sops

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// metadata is what decryption needs of a file's "sops" entry.
type metadata struct {
	// lastModified is the time the file was last encrypted, formatted as
	// SOPS formats it back (RFC 3339 in seconds): the additional data of
	// the MAC.
	lastModified string
	// mac is the encrypted MAC of the values.
	mac string
	// rules chooses which values are encrypted.
	rules cryptRules
	// macOnlyEncrypted: the MAC covers the encrypted values only.
	macOnlyEncrypted bool
	// groups are the key groups, each the master keys the data key is
	// encrypted to, in the order SOPS tries them.
	groups [][]masterKey
}

// masterKey is one key the data key is encrypted to.
type masterKey struct {
	// kind is SOPS' identifier of the key's type: age, pgp, kms, gcp_kms,
	// hckms, azure_kv, hc_vault.
	kind string
	// recipient is an age key's public key.
	recipient string
	// enc is the data key encrypted to the key (armored age for age).
	enc string
}

// keyKinds are the metadata's lists of master keys, in the order SOPS puts
// them in a key group.
var keyKinds = []string{"kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "pgp", "age"}

// The default rule when a file names none: SOPS' default.
const defaultUnencryptedSuffix = "_unencrypted"

// metadataError says what is wrong with a file's metadata, quoting none of
// it.
type metadataError struct{ why string }

func (e *metadataError) Error() string { return e.why }

// parseMetadata reads the metadata from its plain tree (maps as
// map[string]any), accepting what SOPS accepts: fields matched by name,
// ignoring case when no field matches exactly, a scalar of another type
// converted as SOPS' weakly typed decoding does, unknown fields ignored.
func parseMetadata(tree map[string]any) (*metadata, error) {
	md := &metadata{}
	var err error
	str := func(name string) string {
		if err != nil {
			return ""
		}
		var s string
		s, err = weakString(field(tree, name), name)
		return s
	}
	raw := str("lastmodified")
	md.mac = str("mac")
	r := &md.rules
	r.unencryptedSuffix = str("unencrypted_suffix")
	r.encryptedSuffix = str("encrypted_suffix")
	r.unencryptedRegex = str("unencrypted_regex")
	r.encryptedRegex = str("encrypted_regex")
	r.unencryptedCommentRegex = str("unencrypted_comment_regex")
	r.encryptedCommentRegex = str("encrypted_comment_regex")
	if err != nil {
		return nil, err
	}
	if md.macOnlyEncrypted, err = weakBool(field(tree, "mac_only_encrypted"), "mac_only_encrypted"); err != nil {
		return nil, err
	}
	top, err := keyGroup(tree)
	if err != nil {
		return nil, err
	}
	if len(top) > 0 {
		md.groups = [][]masterKey{top}
	} else {
		groups, err := mapList(field(tree, "key_groups"), "key_groups")
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			keys, err := keyGroup(g)
			if err != nil {
				return nil, err
			}
			md.groups = append(md.groups, keys)
		}
	}
	if len(md.groups) == 0 {
		return nil, &metadataError{"it names no key the data key is encrypted to"}
	}
	t, perr := time.Parse(time.RFC3339, raw)
	if perr != nil {
		return nil, &metadataError{"its lastmodified is not an RFC 3339 time"}
	}
	md.lastModified = t.Format(time.RFC3339)
	if err := r.check(); err != nil {
		return nil, err
	}
	return md, nil
}

// keyGroup lists the master keys of a group (or of the metadata's top
// level), in SOPS' order.
func keyGroup(m map[string]any) ([]masterKey, error) {
	var keys []masterKey
	for _, kind := range keyKinds {
		entries, err := mapList(field(m, kind), kind)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			k := masterKey{kind: kind}
			if k.enc, err = weakString(field(e, "enc"), kind+".enc"); err != nil {
				return nil, err
			}
			if kind == "age" {
				if k.recipient, err = weakString(field(e, "recipient"), "age.recipient"); err != nil {
					return nil, err
				}
			} else {
				// SOPS parses the other keys' creation time, and refuses
				// the file when it does not parse.
				created, err := weakString(field(e, "created_at"), kind+".created_at")
				if err != nil {
					return nil, err
				}
				if _, err := time.Parse(time.RFC3339, created); err != nil {
					return nil, &metadataError{"the created_at of a " + kind + " key is not an RFC 3339 time"}
				}
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// field is m's value named name, or, when none is, the first whose name
// equals it ignoring case.
func field(m map[string]any, name string) any {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// weakString is v as a string field: a number or a boolean is formatted.
func weakString(v any, name string) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case bool:
		if v {
			return "1", nil
		}
		return "0", nil
	case int:
		return strconv.Itoa(v), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	}
	return "", &metadataError{fmt.Sprintf("its %s is %s, not a string", name, kind(v))}
}

// weakBool is v as a boolean field: a number is true when not 0, a string
// as strconv.ParseBool reads it, the empty string false.
func weakBool(v any, name string) (bool, error) {
	switch v := v.(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case int:
		return v != 0, nil
	case uint64:
		return v != 0, nil
	case float64:
		return v != 0, nil
	case string:
		if v == "" {
			return false, nil
		}
		if b, err := strconv.ParseBool(v); err == nil {
			return b, nil
		}
	}
	return false, &metadataError{fmt.Sprintf("its %s is not a boolean", name)}
}

// mapList is v as a list of mappings; a single mapping is a list of one.
func mapList(v any, name string) ([]map[string]any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		if len(v) == 0 {
			return nil, nil
		}
		return []map[string]any{v}, nil
	case []any:
		var out []map[string]any
		for _, e := range v {
			switch e := e.(type) {
			case map[string]any:
				out = append(out, e)
			case nil:
				out = append(out, map[string]any{})
			default:
				return nil, &metadataError{fmt.Sprintf("its %s list holds %s, not a mapping", name, kind(e))}
			}
		}
		return out, nil
	}
	return nil, &metadataError{fmt.Sprintf("its %s is %s, not a list", name, kind(v))}
}

// plainTree is a loaded value with branches as maps and comments left out,
// as SOPS hands the metadata to its decoder; a repeated key keeps its last
// value.
func plainTree(v any) (any, error) {
	switch v := v.(type) {
	case branch:
		m := map[string]any{}
		for _, it := range v {
			if _, ok := it.key.(comment); ok {
				continue
			}
			k, ok := it.key.(string)
			if !ok {
				return nil, &metadataError{"it has a key that is not a string"}
			}
			sub, err := plainTree(it.value)
			if err != nil {
				return nil, err
			}
			m[k] = sub
		}
		return m, nil
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			if _, ok := e.(comment); ok {
				continue
			}
			sub, err := plainTree(e)
			if err != nil {
				return nil, err
			}
			out = append(out, sub)
		}
		return out, nil
	}
	return v, nil
}
