package sops

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/kms"
	"github.com/getsops/sops/v3/pgp"

	"github.com/durable-delivery/durable/secrets/sops/sopstest"
)

// withKeyGroups encrypts plainYAML to id, then gives the file the key
// groups groups makes of its age key, through the library's store.
func withKeyGroups(t *testing.T, file string, groups func(age keys.MasterKey) []sops.KeyGroup) []byte {
	t.Helper()
	id, _ := newKey(t)
	plain := map[string]string{".json": plainJSON, ".env": plainDotenv}[file[strings.LastIndex(file, "."):]]
	if plain == "" {
		plain = plainYAML
	}
	enc := encrypt(t, file, plain, id)
	st := sopstest.StoreFor(file)
	tree, err := st.LoadEncryptedFile(enc)
	if err != nil {
		t.Fatal(err)
	}
	tree.Metadata.KeyGroups = groups(tree.Metadata.KeyGroups[0][0])
	out, err := st.EmitEncryptedFile(tree)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pgpKey  = &pgp.MasterKey{Fingerprint: "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4", EncryptedKey: "-----BEGIN PGP MESSAGE-----\n\nx\n-----END PGP MESSAGE-----", CreationDate: created}
	kmsKey  = &kms.MasterKey{Arn: "arn:aws:kms:eu-west-1:1:key/k", EncryptedKey: "Zm9v", CreationDate: created}
)

// TestDecryptWithoutAnAgeRecipient: a file encrypted to other key types
// only is refused, naming them by SOPS' identifiers.
func TestDecryptWithoutAnAgeRecipient(t *testing.T) {
	_, ids := newKey(t)
	for _, file := range []string{"s.yaml", "s.json", "s.env"} {
		enc := withKeyGroups(t, file, func(keys.MasterKey) []sops.KeyGroup { return []sops.KeyGroup{{pgpKey, kmsKey}} })
		_, err := Decrypt(file, enc, ids)
		if !errors.Is(err, ErrNoMatchingIdentity) || !strings.Contains(err.Error(), file+": no age identity") ||
			!strings.Contains(err.Error(), "the file is encrypted to no age key (only to kms, pgp, which durable does not use); add the reconciler's public key "+ids.recipients[0]) {
			t.Errorf("%s: got %v, want the key types named", file, err)
		}
	}
}

// TestDecryptThroughTheAgeKeyOfSeveral: a file encrypted to PGP and KMS
// keys too is read through its age key, wherever it is in the group.
func TestDecryptThroughTheAgeKeyOfSeveral(t *testing.T) {
	id, ids := newKey(t)
	enc := encrypt(t, "s.yaml", plainYAML, id)
	tree, err := sopstest.StoreFor("s.yaml").LoadEncryptedFile(enc)
	if err != nil {
		t.Fatal(err)
	}
	tree.Metadata.KeyGroups[0] = append(sops.KeyGroup{pgpKey, kmsKey}, tree.Metadata.KeyGroups[0]...)
	out, err := sopstest.StoreFor("s.yaml").EmitEncryptedFile(tree)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Decrypt("s.yaml", out, ids)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := doc.Value("db.password"); err != nil || v != "hunter2-db-pass" {
		t.Fatalf("Value = %q, %v", v, err)
	}
}

// TestDecryptRefusesKeyGroups: a data key split over key groups (Shamir)
// is refused, saying so.
func TestDecryptRefusesKeyGroups(t *testing.T) {
	_, ids := newKey(t)
	enc := withKeyGroups(t, "s.yaml", func(age keys.MasterKey) []sops.KeyGroup { return []sops.KeyGroup{{age}, {pgpKey}} })
	_, err := Decrypt("s.yaml", enc, ids)
	if err == nil || !strings.Contains(err.Error(), "s.yaml: the data key is split over 2 key groups (Shamir's secret sharing)") {
		t.Fatalf("got %v", err)
	}
}
