package sops

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	sopsaes "github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"

	"github.com/durable-delivery/durable/secrets/sops/sopstest"
)

// The differential tests hold Decrypt to the SOPS library: over a fixed
// corpus (corpus_test.go), the library encrypts, and Decrypt must read
// every key to the value the library decrypts, and refuse exactly the
// tampered files the library refuses.

// libDecrypt decrypts a file with the SOPS library, as durable did before it
// read the format itself: the data key from the age stanzas with id, the
// tree decrypted, the MAC checked. It returns the first document.
func libDecrypt(file string, enc []byte, id *age.X25519Identity) (sops.TreeBranch, error) {
	tree, err := sopstest.StoreFor(file).LoadEncryptedFile(enc)
	if err != nil {
		return nil, err
	}
	var key []byte
	for _, group := range tree.Metadata.KeyGroups {
		for _, k := range group {
			if mk, ok := k.(*sopsage.MasterKey); ok && key == nil {
				sopsage.ParsedIdentities{id}.ApplyToMasterKey(mk)
				key, _ = mk.Decrypt()
			}
		}
	}
	if key == nil {
		return nil, errors.New("no data key")
	}
	c := sopsaes.NewCipher()
	computed, err := tree.Decrypt(key, c)
	if err != nil {
		return nil, err
	}
	stored, err := c.Decrypt(tree.Metadata.MessageAuthenticationCode, key, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil || stored != computed {
		return nil, sops.MacMismatch
	}
	return tree.Branches[0], nil
}

// libKeys lists a library tree's keys as Document.Keys does: dotted, in
// order, maps entered, comments left out.
func libKeys(prefix string, b sops.TreeBranch) []string {
	var out []string
	for _, it := range b {
		k, ok := it.Key.(string)
		if !ok {
			continue
		}
		if prefix != "" {
			k = prefix + "." + k
		}
		if sub, ok := it.Value.(sops.TreeBranch); ok {
			out = append(out, libKeys(k, sub)...)
			continue
		}
		out = append(out, k)
	}
	return out
}

// libValue is what Document.Value must say for key of a library tree: the
// value as a string, or <map>, <list>, <null>, <nokey>.
func libValue(root sops.TreeBranch, key string, dotenv bool) string {
	segs := strings.Split(key, ".")
	if dotenv {
		segs = []string{key}
	}
	var cur any = root
	for _, seg := range segs {
		b, ok := cur.(sops.TreeBranch)
		if !ok {
			return "<nokey>"
		}
		found := false
		for _, it := range b {
			if k, ok := it.Key.(string); ok && k == seg {
				cur, found = it.Value, true
				break
			}
		}
		if !found {
			return "<nokey>"
		}
	}
	switch v := cur.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case sops.TreeBranch:
		return "<map>"
	case []any:
		return "<list>"
	case nil:
		return "<null>"
	}
	return fmt.Sprintf("<%T>", cur)
}

// docValue is Document.Value's answer in libValue's terms.
func docValue(doc *Document, key string) string {
	v, err := doc.Value(key)
	switch {
	case err == nil:
		return v
	case errors.Is(err, ErrNoKey):
		return "<nokey>"
	case errors.Is(err, ErrNotString) && strings.Contains(err.Error(), "it holds a map"):
		return "<map>"
	case errors.Is(err, ErrNotString) && strings.Contains(err.Error(), "it holds a list"):
		return "<list>"
	case errors.Is(err, ErrNotString) && strings.Contains(err.Error(), "it holds null"):
		return "<null>"
	}
	return "<error: " + err.Error() + ">"
}

// sameReading fails t unless Decrypt and the library agree on enc: both
// refuse it, or both read the same keys to the same values. It says
// whether they refused it.
func sameReading(t *testing.T, file string, enc []byte, id *age.X25519Identity, ids *Identities) (refused bool) {
	t.Helper()
	want, libErr := libDecrypt(file, enc, id)
	doc, err := Decrypt(file, enc, ids)
	if (libErr != nil) != (err != nil) {
		t.Fatalf("verdicts differ: the library says %v, Decrypt says %v", libErr, err)
	}
	if err != nil {
		return true
	}
	wantKeys, gotKeys := libKeys("", want), doc.Keys()
	if strings.Join(wantKeys, "\x00") != strings.Join(gotKeys, "\x00") {
		t.Fatalf("Keys() = %q, the library's keys are %q", gotKeys, wantKeys)
	}
	for _, k := range append(wantKeys, "no-such-key", "") {
		if w, g := libValue(want, k, doc.dotenv), docValue(doc, k); w != g {
			t.Errorf("Value(%q) = %q, the library decrypts %q", k, g, w)
		}
	}
	return false
}

// TestDecryptAgreesWithTheSOPSLibrary: for every tree of the corpus, in
// every format and with every rule choosing what is encrypted, Decrypt
// reads what the library reads; and every tampering is refused by both.
func TestDecryptAgreesWithTheSOPSLibrary(t *testing.T) {
	id, ids := newKey(t)
	tampered := map[string]int{}
	cases := corpus()
	// SOPS does not read back every YAML file it writes with a comment
	// rule: its writer moves a comment in a list of maps to another level,
	// and the rule then chooses differently. Decrypt must refuse those as
	// the library does; they must stay few, or the corpus tests little.
	var unreadable []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			enc, err := sopstest.Encrypt(c.file, []byte(c.text), c.opts, id.Recipient().String())
			if err != nil {
				t.Fatalf("the library does not encrypt the case: %v\n%s", err, c.text)
			}
			if sameReading(t, c.file, enc, id, ids) {
				unreadable = append(unreadable, c.name)
				return
			}
			for _, tm := range tamperings {
				changed, ok := tm.apply(t, c.file, enc)
				if !ok {
					continue // the file has nothing this tampering changes
				}
				t.Run(tm.name, func(t *testing.T) {
					if !sameReading(t, c.file, changed, id, ids) {
						t.Fatalf("both read the tampered file:\n%s", changed)
					}
					_, err := Decrypt(c.file, changed, ids)
					if !errors.Is(err, ErrIntegrity) {
						t.Fatalf("got %v, want an integrity error", err)
					}
				})
				tampered[tm.name]++
			}
		})
	}
	if len(unreadable)*10 > len(cases) {
		t.Errorf("SOPS cannot read back %d of the %d files: %v", len(unreadable), len(cases), unreadable)
	}
	t.Logf("%d files, %d that SOPS itself does not read back: %v; tamperings: %v", len(cases), len(unreadable), unreadable, tampered)
	// Each tampering must have been tried, and on many files.
	for _, tm := range tamperings {
		if tampered[tm.name] < 20 {
			t.Errorf("tampering %q was tried on %d files only", tm.name, tampered[tm.name])
		}
	}
}

// tampering changes an encrypted file, through the library's store, or
// says it has nothing to change.
type tampering struct {
	name  string
	apply func(t *testing.T, file string, enc []byte) ([]byte, bool)
}

var tamperings = []tampering{
	{"flipped data byte", flipField(1)},
	{"flipped iv byte", flipField(2)},
	{"flipped tag byte", flipField(3)},
	{"swapped values", editTree(func(tree *sops.Tree) bool {
		slots := encryptedSlots(tree.Branches[0])
		if len(slots) < 2 {
			return false
		}
		*slots[0], *slots[1] = *slots[1], *slots[0]
		return true
	})},
	{"changed lastmodified", editTree(func(tree *sops.Tree) bool {
		tree.Metadata.LastModified = tree.Metadata.LastModified.Add(time.Second)
		return true
	})},
	{"removed key", editTree(func(tree *sops.Tree) bool {
		for i, it := range tree.Branches[0] {
			if s, ok := it.Value.(string); ok && encValue.MatchString(s) && !strings.HasSuffix(s, "type:comment]") {
				tree.Branches[0] = append(tree.Branches[0][:i:i], tree.Branches[0][i+1:]...)
				return true
			}
		}
		return false
	})},
}

// editTree is a tampering that edits the loaded encrypted tree.
func editTree(edit func(*sops.Tree) bool) func(*testing.T, string, []byte) ([]byte, bool) {
	return func(t *testing.T, file string, enc []byte) ([]byte, bool) {
		st := sopstest.StoreFor(file)
		tree, err := st.LoadEncryptedFile(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !edit(&tree) {
			return nil, false
		}
		out, err := st.EmitEncryptedFile(tree)
		if err != nil {
			t.Fatal(err)
		}
		return out, true
	}
}

// encValue splits SOPS' encrypted value format.
var encValue = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]$`)

// flipField flips a bit of the first byte of one field (1 data, 2 iv, 3
// tag) of the first encrypted value.
func flipField(field int) func(*testing.T, string, []byte) ([]byte, bool) {
	return editTree(func(tree *sops.Tree) bool {
		slots := encryptedSlots(tree.Branches[0])
		if len(slots) == 0 {
			return false
		}
		s := (*slots[0]).(string)
		m := encValue.FindStringSubmatchIndex(s)
		raw, err := base64.StdEncoding.DecodeString(s[m[2*field]:m[2*field+1]])
		if err != nil || len(raw) == 0 {
			panic(fmt.Sprintf("not an encrypted value: %q", s))
		}
		raw[0] ^= 1
		*slots[0] = s[:m[2*field]] + base64.StdEncoding.EncodeToString(raw) + s[m[2*field+1]:]
		return true
	})
}

// encryptedSlots are the places of the encrypted values of a tree (not
// comments), in order.
func encryptedSlots(b sops.TreeBranch) []*any {
	var out []*any
	var visit func(v *any)
	visit = func(v *any) {
		switch x := (*v).(type) {
		case sops.TreeBranch:
			out = append(out, encryptedSlots(x)...)
		case []any:
			for i := range x {
				visit(&x[i])
			}
		case string:
			if encValue.MatchString(x) && !strings.HasSuffix(x, "type:comment]") {
				out = append(out, v)
			}
		}
	}
	for i := range b {
		if _, ok := b[i].Key.(string); ok {
			visit(&b[i].Value)
		}
	}
	return out
}

// TestDecryptAgreesOnValuesSOPSDoesNotWrite: values sops never writes
// itself, but reads (numbers and booleans in another form than sops writes
// them, a time with an offset, a comment encrypted as a string), each
// resealed with a MAC the library computes, read alike by both.
func TestDecryptAgreesOnValuesSOPSDoesNotWrite(t *testing.T) {
	id, ids := newKey(t)
	dataKey := []byte("0123456789abcdef0123456789abcdef")
	const file = "crafted.yaml"
	enc, err := sopstest.Encrypt(file, []byte("# head\nraw: x\nnum: 1\nflag: true\nratio: 1.5\nlist:\n  - a\n"),
		sopstest.Options{DataKey: dataKey}, id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, plain, typ string
	}{
		{"int with a sign and zeros", "num", "+007", "int"},
		{"bool as t", "flag", "t", "bool"},
		{"float as an exponent", "ratio", "1e3", "float"},
		{"time with an offset", "raw", "2024-01-02T03:04:05.5+02:00", "time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changed := editTree(func(tree *sops.Tree) bool {
				for i, it := range tree.Branches[0] {
					if it.Key == tc.path {
						tree.Branches[0][i].Value = sealValue(t, dataKey, tc.path+":", tc.plain, tc.typ)
					}
				}
				return true
			})
			out, _ := changed(t, file, enc)
			out, err := sopstest.Reseal(file, out, dataKey)
			if err != nil {
				t.Fatal(err)
			}
			if sameReading(t, file, out, id, ids) {
				t.Fatalf("both refuse the resealed file:\n%s", out)
			}
		})
	}
	// A comment encrypted as a string: SOPS' MAC then covers it.
	t.Run("comment as a string", func(t *testing.T) {
		text := string(enc)
		start := strings.Index(text, "#ENC[")
		if start < 0 {
			t.Fatalf("no encrypted comment in\n%s", text)
		}
		end := start + strings.Index(text[start:], "\n")
		out, err := sopstest.Reseal(file, []byte(text[:start]+"#"+sealValue(t, dataKey, ":", "hello", "str")+text[end:]), dataKey)
		if err != nil {
			t.Fatal(err)
		}
		if sameReading(t, file, out, id, ids) {
			t.Fatalf("both refuse the resealed file:\n%s", out)
		}
	})
}

// sealValue encrypts plain as SOPS' value format, with a fixed nonce: the
// test's values are not secret.
func sealValue(t *testing.T, key []byte, additional, plain, typ string) string {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, 32)
	if err != nil {
		t.Fatal(err)
	}
	iv := []byte(strings.Repeat("n", 32))
	out := gcm.Seal(nil, iv, []byte(plain), []byte(additional))
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:%s]", b64(out[:len(out)-16]), b64(iv), b64(out[len(out)-16:]), typ)
}

// TestDecryptReadsBytes: a value of type bytes (which sops never writes,
// and which makes the library panic: it keys a map with the []byte) reads
// as its bytes, covered by the MAC as a string of them is.
func TestDecryptReadsBytes(t *testing.T) {
	id, ids := newKey(t)
	dataKey := []byte("0123456789abcdef0123456789abcdef")
	const file = "bytes.yaml"
	enc, err := sopstest.Encrypt(file, []byte("raw: x\nother: y\n"), sopstest.Options{DataKey: dataKey}, id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	const plain = "bytes \xff\x00 value"
	sealed := sealValue(t, dataKey, "raw:", plain, "str")
	out, _ := editTree(func(tree *sops.Tree) bool {
		tree.Branches[0][0].Value = sealed
		return true
	})(t, file, enc)
	// The type is not authenticated: the MAC of the string is the MAC of
	// its bytes.
	out, err = sopstest.Reseal(file, out, dataKey)
	if err != nil {
		t.Fatal(err)
	}
	out = []byte(strings.Replace(string(out), sealed, strings.Replace(sealed, "type:str]", "type:bytes]", 1), 1))
	doc, err := Decrypt(file, out, ids)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := doc.Value("raw"); err != nil || got != plain {
		t.Fatalf("Value(raw) = %q, %v; want %q", got, err, plain)
	}
}

// BenchmarkDecrypt decrypts the same YAML file with Decrypt and with the
// SOPS library.
func BenchmarkDecrypt(b *testing.B) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	ids, err := ParseIdentities([]byte(id.String()+"\n"), "bench key")
	if err != nil {
		b.Fatal(err)
	}
	enc, err := sopstest.Encrypt("b.yaml", []byte(plainYAML), sopstest.Options{}, id.Recipient().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("durable", func(b *testing.B) {
		for b.Loop() {
			if _, err := Decrypt("b.yaml", enc, ids); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("library", func(b *testing.B) {
		for b.Loop() {
			if _, err := libDecrypt("b.yaml", enc, id); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDecryptFilesTheSOPSCommandWrote: files the sops command wrote
// (testdata/sops-cli, made by its make.sh) read as the library reads them,
// to the plaintexts beside them, and every tampering of them is refused by
// both.
func TestDecryptFilesTheSOPSCommandWrote(t *testing.T) {
	id, err := age.ParseX25519Identity(fuzzIdentity)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := ParseIdentities([]byte(fuzzIdentity+"\n"), "the fuzz identity")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("testdata/sops-cli/*.enc.*")
	if err != nil || len(files) < 10 {
		t.Fatalf("found %d files written by sops (%v); run testdata/sops-cli/make.sh", len(files), err)
	}
	want := map[string]map[string]string{
		"plain.enc.yaml": {"db.password": "hunter2-cli", "db.port": "5432", "db.ratio": "0.25", "db.enabled": "true",
			"db.started": "2024-01-02T03:04:05Z", "db.empty": "", "ключ": "значение 🔑", "mode_unencrypted": "dev",
			"multiline": "line one\nline two\n", "hosts": "<list>", "db.none": "<null>"},
		"maconly.enc.yaml":       {"db.password": "hunter2-cli", "mode_unencrypted": "dev"},
		"regex.enc.yaml":         {"public": "shown", "secret_token": "tok-cli", "nested.secret_pw": "pw-cli", "nested.label": "plain"},
		"unregex.enc.yaml":       {"public": "shown", "secret_token": "tok-cli"},
		"suffix.enc.yaml":        {"nested.secret_pw": "pw-cli", "public": "shown"},
		"comments.enc.yaml":      {"a": "1", "b": "two", "c": "three"},
		"clearcomments.enc.yaml": {"a": "1", "b": "two", "c": "three"},
		"multi.enc.yaml":         {"first": "doc-one", "second": "<nokey>"},
		"plain.enc.json": {"db.password": "hunter2-cli", "db.port": "5432", "db.on": "false", "db.none": "<null>",
			"list": "<list>", "ключ": "значение", "empty": ""},
		"plain.enc.env":   {"DB_PASSWORD": "hunter2-cli", "API_TOKEN": "tok=with=equals", "MULTI": "a\nb", "EMPTY": "", "mode_unencrypted": "dev"},
		"maconly.enc.env": {"DB_PASSWORD": "hunter2-cli", "mode_unencrypted": "dev"},
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			enc, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if sameReading(t, name, enc, id, ids) {
				t.Fatal("both refuse the file sops wrote")
			}
			doc, err := Decrypt(name, enc, ids)
			if err != nil {
				t.Fatal(err)
			}
			if want[name] == nil {
				t.Fatalf("no values to expect of %s: add them", name)
			}
			for k, w := range want[name] {
				if g := docValue(doc, k); g != w {
					t.Errorf("Value(%q) = %q, want %q", k, g, w)
				}
			}
			for _, tm := range tamperings {
				changed, ok := tm.apply(t, name, enc)
				if !ok {
					continue
				}
				if !sameReading(t, name, changed, id, ids) {
					t.Errorf("%s: both read the tampered file", tm.name)
				}
			}
		})
	}
}
