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

// Options change how a file is encrypted.
type Options struct {
	// UnencryptedSuffix leaves in clear the values whose key ends with it
	// (sops --unencrypted-suffix); the MAC still covers them.
	UnencryptedSuffix string
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
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		return nil, err
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
		UnencryptedSuffix: opts.UnencryptedSuffix, Version: "3.13.3"}}
	cipher := aes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		return nil, err
	}
	tree.Metadata.LastModified = time.Now().UTC().Truncate(time.Second)
	tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, err
	}
	return st.EmitEncryptedFile(tree)
}
