package sops

import (
	"errors"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/durable-delivery/durable/secrets/sops/sopstest"
)

// fuzzIdentity is a throwaway age identity made for FuzzDecrypt, and the
// recipient of the files the sops command wrote in testdata/sops-cli: fixed,
// so that a finding saved under testdata/fuzz still decrypts when it is
// replayed. It protects no secret.
const fuzzIdentity = "AGE-SECRET-KEY-1J4FGMGR39EEVQH9T4X4QGCSVKU6S9UHRZFLFFU23E9ADHKY6CW5SLVJ60G"

// fuzzFormats are the file names FuzzDecrypt parses a file as, one per
// format; the fuzzer picks one by index.
var fuzzFormats = []string{"secrets.yaml", "secrets.json", "secrets.env"}

// FuzzDecrypt decrypts fuzzed SOPS files, as YAML, JSON or dotenv, with
// fuzzIdentity. Decrypt must not panic; it returns a document or an error
// that names the file and says more, never both nor neither; no error shows
// a plaintext of the seeds (or of fuzzIdentity). Every key a document lists
// reads as a value or as a typed error (ErrNotString, or ErrNoKey for a key
// whose name holds a dot), and a key it does not have is ErrNoKey.
func FuzzDecrypt(f *testing.F) {
	id, err := age.ParseX25519Identity(fuzzIdentity)
	if err != nil {
		f.Fatal(err)
	}
	ids, err := ParseIdentities([]byte(fuzzIdentity+"\n"), "the fuzz identity")
	if err != nil {
		f.Fatal(err)
	}
	other, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	for i, file := range fuzzFormats {
		plain := []string{plainYAML, plainJSON, plainDotenv}[i]
		for _, to := range [][]string{{id.Recipient().String()}, {other.Recipient().String()}} {
			enc, err := sopstest.Encrypt(file, []byte(plain), sopstest.Options{}, to...)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(i), enc)
		}
		f.Add(uint8(i), []byte(plain))
	}
	clear, err := sopstest.Encrypt("secrets.yaml", []byte(plainYAML+"mode_unencrypted: dev\n"), sopstest.Options{UnencryptedSuffix: "_unencrypted"}, id.Recipient().String())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), clear)
	f.Add(uint8(0), []byte("a: [unclosed\n"))
	f.Add(uint8(0), []byte("sops: {}\n"))
	f.Add(uint8(1), []byte(`{"sops": {"age": [{"recipient": "age1x", "enc": "x"}], "mac": "ENC[AES256_GCM,data:,iv:,tag:,type:str]"}}`))
	f.Add(uint8(2), []byte("sops_version=3\nA=ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n"))
	f.Add(uint8(0), []byte(""))
	f.Fuzz(func(t *testing.T, format uint8, data []byte) {
		file := fuzzFormats[int(format)%len(fuzzFormats)]
		doc, err := Decrypt(file, data, ids)
		if (doc == nil) == (err == nil) {
			t.Fatalf("Decrypt returned a document %v and error %v: want exactly one", doc != nil, err)
		}
		if err != nil {
			checkSOPSError(t, file, err)
			return
		}
		for _, key := range doc.Keys() {
			_, err := doc.Value(key)
			if err != nil && !errors.Is(err, ErrNotString) && !(errors.Is(err, ErrNoKey) && strings.Contains(key, ".")) {
				t.Fatalf("key %q the document lists does not read: %v", key, err)
			}
			checkSOPSError(t, file, err)
		}
		if _, err := doc.Value("durable-fuzz-no-such-key"); !errors.Is(err, ErrNoKey) {
			t.Fatalf("a key the document does not have reads as %v", err)
		}
	})
}

// checkSOPSError fails t if err (when not nil) does not name file, says
// nothing more, or shows a secret.
func checkSOPSError(t *testing.T, file string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, file+": ") || strings.TrimSpace(strings.TrimPrefix(msg, file+": ")) == "" {
		t.Fatalf("the error does not name the file and say what is wrong: %q", msg)
	}
	if strings.Contains(msg, fuzzIdentity) {
		t.Fatalf("an error shows the identity: %v", err)
	}
	noPlaintext(t, err)
}
