package sops

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/durable-delivery/durable/secrets/sops/sopstest"
)

// The plaintexts of the test files. Every error of these tests is checked
// for each of them.
var secretValues = []string{"hunter2-db-pass", "tok-9f8e7d", "s3cr3t-dotenv", "nested-deep-value", "listed-item-1"}

const plainYAML = `db:
  password: hunter2-db-pass
  port: 5432
  ratio: 0.25
api:
  token: tok-9f8e7d
debug: true
list:
  - listed-item-1
empty: null
deep:
  a:
    b: nested-deep-value
`

const plainJSON = `{"db": {"password": "hunter2-db-pass", "port": 5432}, "api": {"token": "tok-9f8e7d"}, "debug": false}`

const plainDotenv = "DB_PASSWORD=s3cr3t-dotenv\nAPI_TOKEN=tok-9f8e7d\n"

// newKey makes an age identity and its parsed Identities.
func newKey(t *testing.T) (*age.X25519Identity, *Identities) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	ids, err := ParseIdentities([]byte("# created: now\n# public key: "+id.Recipient().String()+"\n"+id.String()+"\n"), "test key")
	if err != nil {
		t.Fatal(err)
	}
	return id, ids
}

// encrypt encrypts plain to the identities' recipients with the sops
// library, and checks no plaintext is left in the result.
func encrypt(t *testing.T, file, plain string, to ...*age.X25519Identity) []byte {
	t.Helper()
	return encryptWith(t, file, plain, sopstest.Options{}, to...)
}

func encryptWith(t *testing.T, file, plain string, opts sopstest.Options, to ...*age.X25519Identity) []byte {
	t.Helper()
	var recipients []string
	for _, id := range to {
		recipients = append(recipients, id.Recipient().String())
	}
	out, err := sopstest.Encrypt(file, []byte(plain), opts, recipients...)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range secretValues {
		if bytes.Contains(out, []byte(v)) {
			t.Fatalf("the encrypted file holds the plaintext %q", v)
		}
	}
	return out
}

// noPlaintext fails if err shows a secret value.
func noPlaintext(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, v := range secretValues {
		if strings.Contains(err.Error(), v) {
			t.Fatalf("an error shows the plaintext %q: %v", v, err)
		}
	}
}

func TestDecryptFormats(t *testing.T) {
	id, ids := newKey(t)
	other, _ := newKey(t)
	for _, tc := range []struct {
		file  string
		plain string
		want  map[string]string
	}{
		{"secrets/web.enc.yaml", plainYAML, map[string]string{"db.password": "hunter2-db-pass", "db.port": "5432", "db.ratio": "0.25",
			"api.token": "tok-9f8e7d", "debug": "true", "deep.a.b": "nested-deep-value"}},
		{"secrets/web.yml", plainYAML, map[string]string{"db.password": "hunter2-db-pass"}},
		{"secrets/web.secret", plainYAML, map[string]string{"api.token": "tok-9f8e7d"}}, // YAML by default
		{"secrets/web.enc.json", plainJSON, map[string]string{"db.password": "hunter2-db-pass", "db.port": "5432", "debug": "false"}},
		{"secrets/web.env", plainDotenv, map[string]string{"DB_PASSWORD": "s3cr3t-dotenv", "API_TOKEN": "tok-9f8e7d"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			// Encrypted to two recipients: the reconciler's key is the second.
			doc, err := Decrypt(tc.file, encrypt(t, tc.file, tc.plain, other, id), ids)
			if err != nil {
				t.Fatal(err)
			}
			for key, want := range tc.want {
				got, err := doc.Value(key)
				if err != nil || got != want {
					t.Errorf("Value(%q) = %q, %v; want %q", key, got, err, want)
				}
			}
		})
	}
}

func TestDecryptRefusesATamperedFile(t *testing.T) {
	id, ids := newKey(t)
	const file = "secrets/web.enc.yaml"
	enc := encrypt(t, file, plainYAML, id)

	// A value whose ciphertext was altered fails its authentication.
	flipped := bytes.Replace(enc, []byte("ENC[AES256_GCM,data:"), []byte("ENC[AES256_GCM,data:AA"), 1)
	// A value whose declared type was altered decrypts, but its plaintext
	// does not parse as that type: SOPS' message would quote it.
	retyped := bytes.Replace(enc, []byte("type:str]"), []byte("type:int]"), 1)
	// A value removed (or added, or reordered) no longer matches the MAC.
	tree, err := sopstest.StoreFor(file).LoadEncryptedFile(enc)
	if err != nil {
		t.Fatal(err)
	}
	tree.Branches[0] = tree.Branches[0][1:]
	removed, err := sopstest.StoreFor(file).EmitEncryptedFile(tree)
	if err != nil {
		t.Fatal(err)
	}
	// An unencrypted value changed: the MAC covers it too.
	clear := encryptWith(t, file, "token: tok-9f8e7d\nmode_unencrypted: dev\n", sopstest.Options{UnencryptedSuffix: "_unencrypted"}, id)
	if _, err := Decrypt(file, clear, ids); err != nil {
		t.Fatalf("the untampered file: %v", err)
	}
	tree, _ = sopstest.StoreFor(file).LoadEncryptedFile(clear)
	for i, item := range tree.Branches[0] {
		if item.Key == "mode_unencrypted" {
			tree.Branches[0][i].Value = "prod"
		}
	}
	changedClear, _ := sopstest.StoreFor(file).EmitEncryptedFile(tree)

	const (
		undecryptable = "a value does not decrypt with the file's data key"
		macMismatch   = "the values do not match the file's MAC"
	)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"value altered", flipped, undecryptable},
		{"type altered", retyped, undecryptable},
		{"value removed", removed, macMismatch},
		{"clear value changed", changedClear, macMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if bytes.Equal(tc.data, enc) {
				t.Fatal("the test did not alter the file")
			}
			_, err := Decrypt(file, tc.data, ids)
			if !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an integrity error saying %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), file+": ") || !strings.Contains(err.Error(), "edit it with sops") {
				t.Errorf("error %q should name the file and the fix", err)
			}
			noPlaintext(t, err)
		})
	}
}

func TestDecryptWithTheWrongKey(t *testing.T) {
	right, _ := newKey(t)
	wrong, wrongIDs := newKey(t)
	enc := encrypt(t, "secrets/web.enc.yaml", plainYAML, right)
	// The right key in SOPS' own variables is not looked at.
	t.Setenv("SOPS_AGE_KEY", right.String())
	t.Setenv("HOME", t.TempDir())
	_, err := Decrypt("secrets/web.enc.yaml", enc, wrongIDs)
	if !errors.Is(err, ErrNoMatchingIdentity) {
		t.Fatalf("got %v, want no matching identity", err)
	}
	msg := err.Error()
	for _, want := range []string{"secrets/web.enc.yaml: no age identity", right.Recipient().String(), wrong.Recipient().String(), "sops updatekeys secrets/web.enc.yaml", "test key"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q: want it to contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "AGE-SECRET-KEY") {
		t.Fatalf("an error shows a private key: %v", err)
	}
	noPlaintext(t, err)
}

func TestDecryptWithoutIdentities(t *testing.T) {
	id, _ := newKey(t)
	enc := encrypt(t, "s/a.yaml", plainYAML, id)
	t.Setenv("SOPS_AGE_KEY", id.String())
	for _, ids := range []*Identities{nil, {}} {
		if _, err := Decrypt("s/a.yaml", enc, ids); !errors.Is(err, ErrNoIdentities) {
			t.Fatalf("got %v, want ErrNoIdentities", err)
		}
	}
}

func TestValueErrors(t *testing.T) {
	id, ids := newKey(t)
	doc, err := Decrypt("secrets/web.enc.yaml", encrypt(t, "secrets/web.enc.yaml", plainYAML, id), ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		is   error
		want string
	}{
		{"db.pasword", ErrNoKey, "secrets/web.enc.yaml: no such key db.pasword; the file has keys: db.password, db.port, db.ratio, api.token, debug, list, empty, deep.a.b"},
		{"nope", ErrNoKey, "no such key nope"},
		{"db.password.x", ErrNoKey, "(db.password holds a value of type string, not keys)"},
		{"db", ErrNotString, "secrets/web.enc.yaml: key db: not a single value: it holds a map (keys db.password, db.port, db.ratio); name one value, e.g. db.password"},
		{"list", ErrNotString, "key list: not a single value: it holds a list"},
		{"empty", ErrNotString, "key empty: not a single value: it holds null"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			_, err := doc.Value(tc.key)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %v containing %q", err, tc.is, tc.want)
			}
			noPlaintext(t, err)
		})
	}
	env, err := Decrypt("web.env", encrypt(t, "web.env", plainDotenv, id), ids)
	if err != nil {
		t.Fatal(err)
	}
	// A dotenv key is the variable's whole name, dots and all.
	if _, err := env.Value("DB.PASSWORD"); !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "the file has keys: DB_PASSWORD, API_TOKEN") {
		t.Fatalf("got %v", err)
	}
}

func TestDecryptRefusesOtherInput(t *testing.T) {
	id, ids := newKey(t)
	big := append(encrypt(t, "a.yaml", plainYAML, id), bytes.Repeat([]byte("#"), MaxFileBytes)...)
	for _, tc := range []struct {
		name, file string
		data       []byte
		want       string
	}{
		{"oversized", "a.yaml", big, "a.yaml: " + strconv.Itoa(len(big)) + " bytes, over the limit of 1048576 bytes"},
		{"plain YAML", "a.yaml", []byte(plainYAML), "a.yaml: has no SOPS metadata; encrypt it with sops"},
		{"not YAML", "a.yaml", []byte("a: [unclosed\n"), "a.yaml: not a SOPS-encrypted YAML file"},
		{"JSON named YAML", "a.json", encrypt(t, "a.yaml", plainYAML, id), "a.json: not a SOPS-encrypted JSON file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decrypt(tc.file, tc.data, ids)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			noPlaintext(t, err)
		})
	}
}

func TestParseIdentities(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	ids, err := ParseIdentities([]byte("# created\n\n"+id.String()+"\n  "+pq.String()+"  \n"), "keys.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids.Recipients(); len(got) != 2 || got[0] != id.Recipient().String() || got[1] != pq.Recipient().String() {
		t.Fatalf("recipients %v", got)
	}
	broken := id.String()[:len(id.String())-3] + "QQQ"
	for _, tc := range []struct {
		name, text, want string
	}{
		{"empty", "# nothing\n", "age identities keys.txt: no identity found"},
		{"malformed", "# key\n" + broken + "\n", "age identities keys.txt: line 2 is a malformed age identity"},
		{"not a key", "hunter2-db-pass\n", "age identities keys.txt: line 1 is not an age identity"},
		{"plugin", "AGE-PLUGIN-YUBIKEY-1ABCDEF\n", "line 1 is not an age identity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseIdentities([]byte(tc.text), "keys.txt")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if line := strings.TrimSpace(strings.TrimPrefix(tc.text, "# key\n")); strings.Contains(err.Error(), line) || strings.Contains(err.Error(), "QQQ") {
				t.Fatalf("an error shows key material: %v", err)
			}
		})
	}
}

func TestReadIdentities(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(path, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ids, err := ReadIdentities(path)
	if err != nil || ids.Source() != path {
		t.Fatalf("read %v, %v", ids, err)
	}
	missing := filepath.Join(dir, "nope.txt")
	if _, err := ReadIdentities(missing); err == nil || !strings.Contains(err.Error(), "age key file "+missing+": no such file or directory; create it with age-keygen") {
		t.Fatalf("got %v", err)
	}
}

// TestReadIdentitiesRefusesAFileOthersCouldReadOrWrite: an identity file
// another local user could read or write is refused, saying how to secure it.
func TestReadIdentitiesRefusesAFileOthersCouldReadOrWrite(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		mode  os.FileMode
		chown bool // give the file to nobody instead
		want  string
	}{
		{name: "world-writable", mode: 0o666, want: "is writable by group or others (mode 0666): any local user could swap in an identity of their own; chmod go-w "},
		{name: "group-writable", mode: 0o620, want: "(mode 0620)"},
		{name: "world-readable", mode: 0o644, want: "is open to group or others (mode 0644): any local user could read it; chmod 600 "},
		{name: "group-readable", mode: 0o640, want: "(mode 0640)"},
		{name: "owned by another user", chown: true, want: "is owned by uid 65534"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.chown && os.Geteuid() != 0 {
				t.Skip("giving a file to another user needs root; CI runs as root")
			}
			path := filepath.Join(t.TempDir(), "keys.txt")
			if err := os.WriteFile(path, []byte(id.String()+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.chown {
				err = os.Chown(path, 65534, 65534)
			} else {
				err = os.Chmod(path, tc.mode)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err := ReadIdentities(path)
			if err == nil || !strings.HasPrefix(err.Error(), "age identity file "+path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadIdentities: %v, want an error naming age identity file %s and containing %q", err, path, tc.want)
			}
		})
	}
}

// TestDecryptLoadErrorsQuoteNothing: a file that does not load, maybe a
// secret never encrypted, gets an error that names the file and the line
// but quotes none of it (FuzzDecrypt found the dotenv store's message
// quoting a line).
func TestDecryptLoadErrorsQuoteNothing(t *testing.T) {
	_, ids := newKey(t)
	for _, tc := range []struct{ file, text, want string }{
		{"secrets.env", "# db\nDB_USER=app\nhunter2-db-pass\n", "secrets.env: not a SOPS-encrypted dotenv file: it does not parse at line 3 (a line without \"=\")"},
		{"secrets.json", `"hunter2-db-pass"`, "secrets.json: not a SOPS-encrypted JSON file: it does not parse (the parser's message"},
		{"secrets.json", `["tok-9f8e7d"]`, "secrets.json: not a SOPS-encrypted JSON file: it does not parse"},
		{"secrets.yaml", "db:\n  password: [hunter2-db-pass\n", "secrets.yaml: not a SOPS-encrypted YAML file: it does not parse at line"},
	} {
		_, err := Decrypt(tc.file, []byte(tc.text), ids)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: %v; want %q", tc.file, tc.text, err, tc.want)
		}
		noPlaintext(t, err)
	}
}

// TestDecryptRefusesAnAliasBomb: aliases to aliases that would expand to a
// billion values, in a second document (yaml.v3 checks the first only),
// are refused, not expanded.
func TestDecryptRefusesAnAliasBomb(t *testing.T) {
	_, ids := newKey(t)
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb += name + ": &" + name + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = name
	}
	_, err := Decrypt("bomb.yaml", []byte("k: v\n---\n"+bomb), ids)
	if err == nil || !strings.Contains(err.Error(), "bomb.yaml: not a SOPS-encrypted YAML file: it does not parse at line") || !strings.Contains(err.Error(), "aliases expand to more than") {
		t.Fatalf("got %v, want the aliases refused", err)
	}
}
