package sops

import (
	"context"
	"errors"
	"fmt"

	"filippo.io/age"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/keyservice"
)

// errNotAge is what the key service answers for a key that is not age:
// durable has no cloud KMS, PGP or Vault credentials to try.
var errNotAge = errors.New("not an age key")

// ageKeyService is a SOPS key service that decrypts a file's data key with
// the given age identities and nothing else. SOPS' own local service would
// look for identities in the environment and the home directory; this one
// hands the parsed identities to the age master key, which then uses those
// alone.
type ageKeyService struct {
	ids sopsage.ParsedIdentities
	// noMatch records that an age recipient was tried and none of the
	// identities matched it, for the error message.
	noMatch bool
}

func (s *ageKeyService) Decrypt(_ context.Context, req *keyservice.DecryptRequest) (*keyservice.DecryptResponse, error) {
	k, ok := req.GetKey().GetKeyType().(*keyservice.Key_AgeKey)
	if !ok {
		return nil, errNotAge
	}
	if len(s.ids) == 0 {
		// An age master key without identities falls back to the
		// environment and the home directory: never let it.
		return nil, ErrNoIdentities
	}
	mk := sopsage.MasterKey{Recipient: k.AgeKey.GetRecipient(), EncryptedKey: string(req.GetCiphertext())}
	s.ids.ApplyToMasterKey(&mk)
	plain, err := mk.Decrypt()
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			s.noMatch = true
		}
		return nil, err
	}
	return &keyservice.DecryptResponse{Plaintext: plain}, nil
}

func (s *ageKeyService) Encrypt(context.Context, *keyservice.EncryptRequest) (*keyservice.EncryptResponse, error) {
	return nil, fmt.Errorf("this key service only decrypts")
}
