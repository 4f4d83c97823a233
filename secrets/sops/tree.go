package sops

// A file loads as documents (YAML may hold several; JSON and dotenv one),
// each a branch: its items in the file's order, as SOPS' stores load them.
// A value is a branch, a list ([]any), nil, or a scalar: string, int,
// float64, bool, time.Time (a YAML value tagged !!timestamp), or []byte
// (a decrypted "bytes" value), or a comment inside a list. Values stay
// encrypted strings until the walk (walk.go) replaces them with their
// plaintext.

// branch is a mapping, in the file's order; a key may repeat, as SOPS
// keeps it.
type branch []item

// item is a mapping's entry. Its key is a string, a comment (then the value
// is nil), or, in YAML, any other scalar, which SOPS refuses to decrypt.
type item struct {
	key   any
	value any
}

// comment is a YAML or dotenv comment line without its "#". SOPS encrypts
// comments as it encrypts values but leaves them out of the MAC.
type comment struct{ text string }

// metadataKey is the key of the SOPS metadata in a YAML or JSON document,
// and with "_" the prefix of the metadata's flattened keys in a dotenv file.
const metadataKey = "sops"
