package listener

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/durable-delivery/durable/internal/hostfile"
)

// Scope is what a credential allows.
type Scope int

const (
	// NoScope is no credential, or one the file does not hold.
	NoScope Scope = iota
	// Read allows GET: status, journal, splits, metrics.
	Read
	// Write allows every call; it includes Read.
	Write
)

func (s Scope) String() string {
	switch s {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return "none"
}

// Limits of a token file: it is written by hand or by `durable run`, never
// large.
const (
	maxTokenFile = 64 << 10
	minToken     = 16
	maxToken     = 512
)

type token struct {
	scope Scope
	value []byte
}

// Tokens are the bearer tokens of a token file. Its format, one per line:
//
//	# a comment
//	read  TOKEN
//	write TOKEN
//
// A token is 16 to 512 printable ASCII characters without spaces.
type Tokens struct {
	list []token
}

// LoadTokens reads a token file, refusing one another local user could
// have written or that holds no token. Errors name the line, never a token.
func LoadTokens(path string) (*Tokens, error) {
	f, err := hostfile.Open(path, "token file", "grant themselves access to the API")
	if err != nil {
		return nil, fmt.Errorf("--token-file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return nil, fmt.Errorf("--token-file %s: %w", path, err)
	}
	if len(b) > maxTokenFile {
		return nil, fmt.Errorf("--token-file %s: over %d bytes; a token file holds a few lines `read TOKEN` or `write TOKEN`", path, maxTokenFile)
	}
	t, err := parseTokens(b)
	if err != nil {
		return nil, fmt.Errorf("--token-file %s: %w", path, err)
	}
	return t, nil
}

func parseTokens(b []byte) (*Tokens, error) {
	t := &Tokens{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxTokenFile+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("line %d: write `read TOKEN` or `write TOKEN`", n)
		}
		var scope Scope
		switch fields[0] {
		case "read":
			scope = Read
		case "write":
			scope = Write
		default:
			return nil, fmt.Errorf("line %d: scope %.20q: use read or write", n, fields[0])
		}
		if err := checkToken(fields[1]); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		t.list = append(t.list, token{scope: scope, value: []byte(fields[1])})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t.list) == 0 {
		return nil, errors.New("holds no token: add a line `write TOKEN` (e.g. TOKEN from `openssl rand -hex 32`)")
	}
	return t, nil
}

func checkToken(s string) error {
	if len(s) < minToken || len(s) > maxToken {
		return fmt.Errorf("a token is %d to %d characters, this one %d: make one with `openssl rand -hex 32`", minToken, maxToken, len(s))
	}
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return errors.New("a token is printable ASCII without spaces: make one with `openssl rand -hex 32`")
		}
	}
	return nil
}

// Scope returns what presented allows. Every token is compared, in
// constant time, so the time taken says nothing of which one matched.
func (t *Tokens) Scope(presented string) Scope {
	if t == nil {
		return NoScope
	}
	got := NoScope
	p := []byte(presented)
	for _, tk := range t.list {
		if subtle.ConstantTimeCompare(p, tk.value) == 1 && tk.scope > got {
			got = tk.scope
		}
	}
	return got
}

// ClientToken is the token a client presents: the first write token, else
// the first read token.
func (t *Tokens) ClientToken() string {
	for _, want := range []Scope{Write, Read} {
		for _, tk := range t.list {
			if tk.scope == want {
				return string(tk.value)
			}
		}
	}
	return ""
}

// EnsureTokenFile creates path (mode 0600) holding one random write token
// when no file is there, and reports whether it did. An existing file is
// left as it is.
func EnsureTokenFile(path string) (bool, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create the API token file %s: %w", path, err)
	}
	text := "# Durable API tokens: one per line, `read TOKEN` or `write TOKEN` (write includes read).\n" +
		"# Created by durable run; clients read it with --token-file or $DURABLE_TOKEN_FILE.\n" +
		"write " + hex.EncodeToString(raw) + "\n"
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		os.Remove(path)
		return false, fmt.Errorf("write the API token file %s: %w", path, err)
	}
	return true, f.Close()
}
