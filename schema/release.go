package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// ReleaseID is the content hash of one service at one revision: its artifact
// digest, run configuration and health check. Two revisions that declare the
// same content (a revert, for instance) yield the same release id; a change
// to anything that affects how instances run yields a new one.
func (s Service) ReleaseID() string {
	content := struct {
		Service  string `json:"service"`
		Artifact string `json:"artifact"`
		Run      Run    `json:"run"`
		Health   Health `json:"health"`
		Secrets  string `json:"secrets,omitempty"`
	}{s.Name, s.Artifact, s.Run, s.Health, s.SecretsDigest}
	// Marshalling plain structs, string maps and slices cannot fail, and
	// encoding/json sorts map keys, so the encoding is canonical.
	b, _ := json.Marshal(content)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
