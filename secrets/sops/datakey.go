package sops

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// dataKey recovers the file's data key from its age stanzas with ids and
// nothing else: SOPS tries a group's keys in order and takes the first that
// decrypts; the other key types (cloud KMS, PGP, Vault) are skipped, durable
// has no credentials for them.
func dataKey(file string, md *metadata, ids *Identities) ([]byte, error) {
	if len(md.groups) > 1 {
		return nil, fmt.Errorf("%s: the data key is split over %d key groups (Shamir's secret sharing), which durable does not read; encrypt the file to age recipients in one key group", file, len(md.groups))
	}
	var (
		ageRecipients, others []string
		noMatch               bool
		lastErr               error
	)
	for _, k := range md.groups[0] {
		if k.kind != "age" {
			others = append(others, k.kind)
			continue
		}
		ageRecipients = append(ageRecipients, k.recipient)
		key, err := decryptAge(k.enc, ids)
		if err == nil {
			return key, nil
		}
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			noMatch = true
		}
		lastErr = err
	}
	fix := fmt.Sprintf("add the reconciler's public key %s to the file's recipients (in .sops.yaml, then sops updatekeys %s)", orList(ids.recipients), file)
	switch {
	case len(ageRecipients) == 0:
		return nil, fmt.Errorf("%s: %w: the file is encrypted to no age key (only to %s, which durable does not use); %s", file, ErrNoMatchingIdentity, orNone(strings.Join(uniq(others), ", ")), fix)
	case noMatch:
		return nil, fmt.Errorf("%s: %w: the file is encrypted to %s, and the identities of %s are for %s; %s", file, ErrNoMatchingIdentity, strings.Join(ageRecipients, ", "), ids.source, strings.Join(ids.recipients, ", "), fix)
	}
	// age's errors hold no plaintext: the data key is what failed.
	return nil, fmt.Errorf("%s: cannot decrypt the file's data key with the identities of %s: %v", file, ids.source, lastErr)
}

// decryptAge decrypts an armored age file holding a data key.
func decryptAge(enc string, ids *Identities) ([]byte, error) {
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(enc)), ids.ids...)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func orNone(s string) string {
	if s == "" {
		return "no key at all"
	}
	return s
}
