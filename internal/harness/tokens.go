package harness

import (
	"crypto/rand"
	"encoding/hex"
	"os"
)

// WriteTokenFile writes an API token file at path (mode 0600) holding one
// random token of scope (read or write), as an operator would, and returns
// the token.
func WriteTokenFile(path, scope string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := hex.EncodeToString(raw)
	return token, os.WriteFile(path, []byte(scope+" "+token+"\n"), 0o600)
}
