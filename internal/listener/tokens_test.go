package listener

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	aRead  = "read-0123456789abcdef"
	aWrite = "write-0123456789abcdef"
)

func writeFile(t *testing.T, text string, mode os.FileMode) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "etc")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "tokens")
	if err := os.WriteFile(p, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadTokensRefusesHostileFiles(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		mode       os.FileMode
		want       string // in the error; "" when accepted
	}{
		{"read and write", "# tokens\n\nread " + aRead + "\nwrite " + aWrite + "\n", 0o600, ""},
		{"empty", "", 0o600, "holds no token"},
		{"only comments", "# nothing\n#write " + aWrite + "\n", 0o600, "holds no token"},
		{"world-writable", "write " + aWrite + "\n", 0o666, "writable by group or others"},
		{"group-writable", "write " + aWrite + "\n", 0o620, "writable by group or others"},
		{"unknown scope", "admin " + aWrite + "\n", 0o600, "line 1: scope \"admin\": use read or write"},
		{"a bare token", aWrite + "\n", 0o600, "line 1: write `read TOKEN`"},
		{"three fields", "write " + aWrite + " extra\n", 0o600, "line 1:"},
		{"short token", "write abc\n", 0o600, "16 to 512 characters"},
		{"huge token", "write " + strings.Repeat("a", 600) + "\n", 0o600, "16 to 512 characters"},
		{"control character", "write " + aWrite + "\x01\n", 0o600, "printable ASCII"},
		{"oversized file", strings.Repeat("# padding line\n", 5000), 0o600, "over 65536 bytes"},
		{"one huge line", strings.Repeat("x", 70000), 0o600, "over 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.text, tc.mode)
			tk, err := LoadTokens(p)
			if tc.want == "" {
				if err != nil || tk.Scope(aRead) != Read || tk.Scope(aWrite) != Write || tk.Scope("read-0123456789abcdeX") != NoScope {
					t.Fatalf("%v, scopes %v %v", err, tk.Scope(aRead), tk.Scope(aWrite))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), aWrite) {
				t.Fatalf("the error shows the token: %v", err)
			}
		})
	}
	if _, err := LoadTokens(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "--token-file") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestEnsureTokenFileCreatesOnceWithMode0600(t *testing.T) {
	p := filepath.Join(t.TempDir(), "api-tokens")
	created, err := EnsureTokenFile(p)
	if err != nil || !created {
		t.Fatalf("created %v, %v", created, err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	first, _ := os.ReadFile(p)
	if created, err := EnsureTokenFile(p); err != nil || created {
		t.Fatalf("second call: created %v, %v", created, err)
	}
	again, _ := os.ReadFile(p)
	if string(first) != string(again) {
		t.Fatal("the token file was rewritten")
	}
	tk, err := LoadTokens(p)
	if err != nil || tk.Scope(tk.ClientToken()) != Write {
		t.Fatalf("created file: %v", err)
	}
}
