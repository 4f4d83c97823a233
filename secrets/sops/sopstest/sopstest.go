// Package sopstest encrypts files as sops --encrypt --age does, with the
// sops library, for tests of code that reads SOPS files. It is not for
// production use: it keeps no key and checks nothing.
package sopstest

import (
	"crypto/rand"
	"fmt"
	"path"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/stores/dotenv"
	"github.com/getsops/sops/v3/stores/json"
	"github.com/getsops/sops/v3/stores/yaml"
)

// Store reads and writes one format, plain and encrypted.
type Store interface {
	sops.EncryptedFileLoader
	LoadPlainFile([]byte) (sops.TreeBranches, error)
	EmitEncryptedFile(sops.Tree) ([]byte, error)
}

// StoreFor is the store of a file's format, by its extension: .json,
// .env, or YAML.
func StoreFor(file string) Store {
	switch path.Ext(file) {
	case ".json":
		return json.NewStore(&config.JSONStoreConfig{})
	case ".env":
		return dotenv.NewStore(&config.DotenvStoreConfig{})
	}
	return yaml.NewStore(&config.YAMLStoreConfig{})
}

// Options change how a file is encrypted. At most one of the suffixes and
// regular expressions may be set, as with the sops command.
type Options struct {
	// UnencryptedSuffix leaves in clear the values whose key ends with it
	// (sops --unencrypted-suffix); the MAC still covers them.
	UnencryptedSuffix string
	// EncryptedSuffix encrypts only the values whose key ends with it.
	EncryptedSuffix string
	// UnencryptedRegex leaves in clear the values whose key matches it.
	UnencryptedRegex string
	// EncryptedRegex encrypts only the values whose key matches it.
	EncryptedRegex string
	// UnencryptedCommentRegex leaves in clear the values after a comment
	// that matches it.
	UnencryptedCommentRegex string
	// EncryptedCommentRegex encrypts only the values after a comment that
	// matches it.
	EncryptedCommentRegex string
	// MACOnlyEncrypted leaves the values in clear out of the MAC.
	MACOnlyEncrypted bool
	// DataKey is the data key to encrypt with (32 bytes); random when nil.
	DataKey []byte
}

// Encrypt encrypts plain, a file in the format of file's extension, to the
// age recipients: a random data key, encrypted to each recipient, encrypts
// every value, and the MAC of the values is stored encrypted with it.
func Encrypt(file string, plain []byte, opts Options, recipients ...string) ([]byte, error) {
	st := StoreFor(file)
	branches, err := st.LoadPlainFile(plain)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	dataKey := opts.DataKey
	if dataKey == nil {
		dataKey = make([]byte, 32)
		if _, err := rand.Read(dataKey); err != nil {
			return nil, err
		}
	}
	var group sops.KeyGroup
	for _, r := range recipients {
		mk, err := sopsage.MasterKeyFromRecipient(r)
		if err != nil {
			return nil, err
		}
		if err := mk.Encrypt(dataKey); err != nil {
			return nil, err
		}
		group = append(group, mk)
	}
	tree := sops.Tree{Branches: branches, Metadata: sops.Metadata{KeyGroups: []sops.KeyGroup{group},
		UnencryptedSuffix: opts.UnencryptedSuffix, EncryptedSuffix: opts.EncryptedSuffix,
		UnencryptedRegex: opts.UnencryptedRegex, EncryptedRegex: opts.EncryptedRegex,
		UnencryptedCommentRegex: opts.UnencryptedCommentRegex, EncryptedCommentRegex: opts.EncryptedCommentRegex,
		MACOnlyEncrypted: opts.MACOnlyEncrypted, Version: "3.13.3"}}
	if tree.Metadata.UnencryptedSuffix == "" && tree.Metadata.EncryptedSuffix == "" && tree.Metadata.UnencryptedRegex == "" &&
		tree.Metadata.EncryptedRegex == "" && tree.Metadata.UnencryptedCommentRegex == "" && tree.Metadata.EncryptedCommentRegex == "" {
		// As the sops command: the default rule is written down.
		tree.Metadata.UnencryptedSuffix = sops.DefaultUnencryptedSuffix
	}
	mac, err := tree.Encrypt(dataKey, aes.NewCipher())
	if err != nil {
		return nil, err
	}
	tree.Metadata.LastModified = time.Now().UTC().Truncate(time.Second)
	if err := sealMAC(&tree, mac, dataKey); err != nil {
		return nil, err
	}
	return st.EmitEncryptedFile(tree)
}

// Reseal stores in enc, an encrypted file that was changed, the MAC of its
// values as they now are, with its data key, as if sops had encrypted it
// so: for tests of values sops never writes itself.
func Reseal(file string, enc, dataKey []byte) ([]byte, error) {
	st := StoreFor(file)
	tree, err := st.LoadEncryptedFile(enc)
	if err != nil {
		return nil, err
	}
	// Decrypt computes the MAC over the values, and leaves them decrypted:
	// the MAC is stored in the encrypted tree, loaded again.
	mac, err := tree.Decrypt(dataKey, aes.NewCipher())
	if err != nil {
		return nil, err
	}
	if tree, err = st.LoadEncryptedFile(enc); err != nil {
		return nil, err
	}
	if err := sealMAC(&tree, mac, dataKey); err != nil {
		return nil, err
	}
	return st.EmitEncryptedFile(tree)
}

// sealMAC stores mac in the tree's metadata, encrypted as sops does.
func sealMAC(tree *sops.Tree, mac string, dataKey []byte) error {
	var err error
	tree.Metadata.MessageAuthenticationCode, err = aes.NewCipher().Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	return err
}
