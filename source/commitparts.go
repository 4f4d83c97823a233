package source

import (
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/durable-delivery/durable/signing"
)

// CommitSigner reads the SSH private key in file (readable by this user
// alone, no passphrase) as Config.CommitKey does, and returns the signer
// of the commits Durable writes with it. The merge queue signs what it
// rebases with it.
func CommitSigner(file string) (git.Signer, error) {
	key, err := readSSHKey(file, "commit signing key", "replace the key that signs Durable's commits with")
	if err != nil {
		return nil, err
	}
	return signing.SSHSigner{Key: key}, nil
}

// WriteCommit stores in repo a commit by Durable of tree on parent with
// message, signed by signer unless it is nil, and returns its hash. It
// moves no branch.
func WriteCommit(repo *git.Repository, parent string, tree plumbing.Hash, message string, signer git.Signer) (plumbing.Hash, error) {
	return writeCommit(repo, parent, tree, message, signer)
}

// EditTree stores the tree that is base with files changed (each
// slash-separated path set to its content, or removed where it is nil)
// and returns its hash.
func EditTree(repo *git.Repository, base *object.Tree, files map[string][]byte) (plumbing.Hash, error) {
	return editTree(repo, base, files)
}
