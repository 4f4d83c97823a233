package sops

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"

	"github.com/durable-delivery/durable/internal/hostfile"
)

// maxIdentityBytes bounds an identity file: a key is 74 characters, and an
// age-keygen file with comments is under 200 bytes.
const maxIdentityBytes = 64 << 10

// Identities are the age private keys a reconciler decrypts with, parsed
// once from a source its operator named. They never come from the user's
// home directory or the SOPS_AGE_* variables behind the caller's back.
type Identities struct {
	source     string
	ids        []age.Identity
	recipients []string
}

// ParseIdentities reads age identities (AGE-SECRET-KEY-1… or the
// post-quantum AGE-SECRET-KEY-PQ-1…), one a line, as age-keygen writes them;
// blank lines and lines starting with # are skipped. source names where the
// text came from, for messages. Errors give a line number, never the line:
// it may hold key material. Plugin and SSH identities are refused (a plugin
// would run a program chosen by the key text).
func ParseIdentities(text []byte, source string) (*Identities, error) {
	if len(text) > maxIdentityBytes {
		return nil, fmt.Errorf("age identities %s: over %d bytes; give a file of age identities as age-keygen writes it", source, maxIdentityBytes)
	}
	out := &Identities{source: source}
	sc := bufio.NewScanner(strings.NewReader(string(text)))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "AGE-SECRET-KEY-") {
			return nil, fmt.Errorf("age identities %s: line %d is not an age identity; each line must be an AGE-SECRET-KEY-1… key as age-keygen writes it (plugin and SSH keys are not supported)", source, n)
		}
		ids, err := age.ParseIdentities(strings.NewReader(line))
		if err != nil || len(ids) != 1 {
			// age's error may quote parts of the key: say where, not what.
			return nil, fmt.Errorf("age identities %s: line %d is a malformed age identity; generate one with age-keygen", source, n)
		}
		out.ids = append(out.ids, ids[0])
		out.recipients = append(out.recipients, recipientOf(ids[0]))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("age identities %s: %w", source, err)
	}
	if len(out.ids) == 0 {
		return nil, fmt.Errorf("age identities %s: no identity found; it must hold an AGE-SECRET-KEY-1… line, as age-keygen writes it", source)
	}
	return out, nil
}

// ReadIdentities reads an age identity file, such as age-keygen -o writes.
// It refuses one another local user could read or write (any access for
// group or others, owned by a user other than the reconciler's or root, or
// in a directory others may write), saying how to secure it.
func ReadIdentities(path string) (*Identities, error) {
	f, err := hostfile.OpenSecret(path, "age identity file", "swap in an identity of their own")
	if _, unsafe := errors.AsType[*hostfile.UnsafeError](err); unsafe {
		return nil, err
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("age key file %s: %w; create it with age-keygen -o %s, or point to the existing one", path, err, path)
	}
	defer f.Close()
	text, err := io.ReadAll(io.LimitReader(f, maxIdentityBytes+1))
	if err != nil {
		return nil, fmt.Errorf("age key file %s: %w", path, err)
	}
	return ParseIdentities(text, path)
}

// Source says where the identities were read from.
func (i *Identities) Source() string { return i.source }

// Recipients are the public keys of the identities: what a file must be
// encrypted to for these identities to read it.
func (i *Identities) Recipients() []string { return append([]string(nil), i.recipients...) }

func recipientOf(id age.Identity) string {
	switch id := id.(type) {
	case *age.X25519Identity:
		return id.Recipient().String()
	case *age.HybridIdentity:
		return id.Recipient().String()
	}
	return "(unknown)"
}
