package sops

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// macOnlyEncryptedPrefix starts the MAC of a file whose MAC covers only its
// encrypted values (mac_only_encrypted), so that such a MAC never equals
// the MAC of all the values: the 32 bytes SOPS writes first.
var macOnlyEncryptedPrefix = []byte{
	0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
	0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
}

// errUndecryptable: a value does not authenticate or does not read as its
// type, or the tree holds what SOPS does not encrypt. Its text never holds
// a value.
var errUndecryptable = errors.New("a value does not decrypt")

// walk decrypts every encrypted value of a file's documents in place, in
// SOPS' order (depth first, in the file's order), and computes the MAC over
// the values as SOPS does: SHA-512 over each value's plaintext as SOPS
// writes it (booleans True and False, numbers in shortest form), comments
// left out, hex in upper case.
type walk struct {
	key   []byte
	rules *cryptRules
	// macOnly: only the encrypted values go into the MAC.
	macOnly bool
	mac     hash.Hash
}

// decryptDocuments decrypts docs with key and returns their MAC.
func decryptDocuments(docs []branch, md *metadata, key []byte) (string, error) {
	w := &walk{key: key, rules: &md.rules, macOnly: md.macOnlyEncrypted, mac: sha512.New()}
	if w.macOnly {
		w.mac.Write(macOnlyEncryptedPrefix)
	}
	for _, doc := range docs {
		if err := w.branch(doc, nil, nil); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%X", w.mac.Sum(nil)), nil
}

// branch walks b, at path. comments holds, for each enclosing level, the
// comments read since its last value (see cryptRules.encrypted).
func (w *walk) branch(b branch, path []string, comments [][]string) error {
	comments = append(comments, nil)
	top := len(comments) - 1
	for i := range b {
		it := &b[i]
		if c, ok := it.key.(comment); ok {
			comments[top] = append(comments[top], c.text)
			v, err := w.leaf(c, path, comments)
			if err != nil {
				return err
			}
			switch v := v.(type) {
			case comment:
				it.key = v
			case string:
				// A comment encrypted with another type than "comment".
				it.key = comment{v}
			default:
				return errUndecryptable
			}
			continue
		}
		k, ok := it.key.(string)
		if !ok {
			// SOPS encrypts string keys only.
			return errUndecryptable
		}
		v, err := w.value(it.value, append(path, k), comments)
		if err != nil {
			return err
		}
		it.value = v
		comments[top] = nil
	}
	return nil
}

func (w *walk) list(l []any, path []string, comments [][]string) error {
	comments = append(comments, nil)
	top := len(comments) - 1
	for i, v := range l {
		c, isComment := v.(comment)
		if isComment {
			comments[top] = append(comments[top], c.text)
		}
		nv, err := w.value(v, path, comments)
		if err != nil {
			return err
		}
		l[i] = nv
		if !isComment {
			comments[top] = nil
		}
	}
	return nil
}

func (w *walk) value(v any, path []string, comments [][]string) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case branch:
		return v, w.branch(v, path, comments)
	case []any:
		return v, w.list(v, path, comments)
	case string, int, bool, float64, time.Time, comment:
		return w.leaf(v, path, comments)
	}
	// A YAML number too large for an int, for one: SOPS refuses it.
	return nil, errUndecryptable
}

// leaf decrypts v if the rules say it is encrypted, and adds it to the MAC.
// A comment that does not decrypt is kept as it is: SOPS reads comments
// older versions left in clear.
func (w *walk) leaf(v any, path []string, comments [][]string) (any, error) {
	c, isComment := v.(comment)
	encrypted := w.rules.encrypted(path, comments, isComment)
	if encrypted {
		additional := strings.Join(path, ":") + ":"
		switch in := v.(type) {
		case comment:
			if plain, err := decryptValue(in.text, w.key, additional); err == nil {
				v = plain
			} else {
				v = c
			}
		case string:
			plain, err := decryptValue(in, w.key, additional)
			if err != nil {
				return nil, err
			}
			v = plain
		default:
			return nil, errUndecryptable
		}
	}
	if _, isComment := v.(comment); !isComment && (encrypted || !w.macOnly) {
		b, err := macBytes(v)
		if err != nil {
			return nil, err
		}
		w.mac.Write(b)
	}
	return v, nil
}

// macBytes is a value as SOPS writes it into the MAC.
func macBytes(v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	case int:
		return []byte(strconv.Itoa(v)), nil
	case float64:
		return []byte(strconv.FormatFloat(v, 'f', -1, 64)), nil
	case bool:
		if v {
			return []byte("True"), nil
		}
		return []byte("False"), nil
	case time.Time:
		b, err := v.MarshalText()
		if err != nil {
			return nil, errUndecryptable
		}
		return b, nil
	}
	return nil, errUndecryptable
}

// encryptedValue is SOPS' format of an encrypted value: base64 of the
// AES-256-GCM ciphertext, nonce and tag, and the plaintext's type.
var encryptedValue = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)

// decryptValue authenticates and decrypts one value with the data key,
// additional the value's path as SOPS joins it, and reads the plaintext as
// its type. The empty string is SOPS' encryption of the empty string.
func decryptValue(text string, key []byte, additional string) (any, error) {
	if text == "" {
		return "", nil
	}
	m := encryptedValue.FindStringSubmatch(text)
	if m == nil {
		return nil, errUndecryptable
	}
	var parts [3][]byte
	for i := range parts {
		b, err := base64.StdEncoding.DecodeString(m[i+1])
		if err != nil {
			return nil, errUndecryptable
		}
		parts[i] = b
	}
	data, iv, tag := parts[0], parts[1], parts[2]
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errUndecryptable
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(iv))
	if err != nil {
		return nil, errUndecryptable
	}
	plain, err := gcm.Open(nil, iv, append(data, tag...), []byte(additional))
	if err != nil {
		return nil, errUndecryptable
	}
	var v any
	switch m[4] {
	case "str":
		v = string(plain)
	case "int":
		v, err = strconv.Atoi(string(plain))
	case "float":
		v, err = strconv.ParseFloat(string(plain), 64)
	case "bytes":
		v = plain
	case "bool":
		v, err = strconv.ParseBool(string(plain))
	case "time":
		var t time.Time
		err = t.UnmarshalText(plain)
		v = t
	case "comment":
		v = comment{string(plain)}
	default:
		return nil, errUndecryptable
	}
	if err != nil {
		// The error may quote the plaintext.
		return nil, errUndecryptable
	}
	return v, nil
}
