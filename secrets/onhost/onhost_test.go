package onhost

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// secretsDir is an operator's secrets directory holding db (the secret),
// next to a file outside it that no name may reach.
func secretsDir(t *testing.T) (dir, outside string) {
	t.Helper()
	base := t.TempDir()
	dir = filepath.Join(base, "secrets")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	outside = filepath.Join(base, "age.txt")
	for file, text := range map[string]string{filepath.Join(dir, "db"): "hunter2\n", outside: "AGE-SECRET-KEY-1OUTSIDE\n"} {
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, outside
}

func TestFileReadsOnlyInsideTheSecretsDirectory(t *testing.T) {
	dir, outside := secretsDir(t)
	for link, target := range map[string]string{"abs-link": outside, "rel-link": "../age.txt", "shadow": "/etc/shadow", "inner": "db"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, MaxFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range []string{"db", "inner"} {
		if v, err := s.File(name); err != nil || v != "hunter2" {
			t.Errorf("File(%q) = %q, %v; want the secret", name, v, err)
		}
	}
	for name, want := range map[string]string{
		outside:                   "is an absolute path: since this version secret files are named relative to the operator's --secrets-dir; write file: \"age.txt\" and start durable run with --secrets-dir " + filepath.Dir(outside),
		"/etc/shadow":             `write file: "shadow" and start durable run with --secrets-dir /etc`,
		"../age.txt":              "leaves the secrets directory",
		"sub/../../age.txt":       "leaves the secrets directory",
		"abs-link":                "escapes",
		"rel-link":                "escapes",
		"shadow":                  "escapes",
		"missing":                 "secret file missing in --secrets-dir " + dir + ": no such file or directory; put the secret in that file",
		"sub":                     "is not a regular file",
		"fifo":                    "is not a regular file",
		"big":                     "is over 65536 bytes",
		"":                        "file is empty",
		"a\x00b":                  "NUL byte",
		strings.Repeat("a", 5000): "is over 1024 bytes",
	} {
		v, err := s.File(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("File(%.40q) = %q, %v; want an error saying %q", name, v, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "AGE-SECRET-KEY") {
			t.Errorf("File(%.40q): the error shows the file outside: %v", name, err)
		}
	}
}

func TestFileWithoutASecretsDirectory(t *testing.T) {
	for _, s := range []*Secrets{nil, {}} {
		if _, err := s.File("db"); err == nil || !strings.Contains(err.Error(), "start durable run with --secrets-dir DIR") {
			t.Errorf("File without a directory: %v, want the fix", err)
		}
	}
}

func TestOpenRefusesADirectoryOthersCouldWrite(t *testing.T) {
	dir, _ := secretsDir(t)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, nil); err == nil || !strings.Contains(err.Error(), "secrets directory "+dir+" is writable by group or others (mode 0777)") {
		t.Fatalf("Open of a world-writable directory: %v", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(dir), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, nil); err == nil || !strings.Contains(err.Error(), "is writable by group or others") {
		t.Fatalf("Open of a directory in a world-writable one: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := Open(missing, nil); err == nil || !strings.Contains(err.Error(), "--secrets-dir "+missing+": no such file or directory; create it") {
		t.Fatalf("Open of a missing directory: %v", err)
	}
	file := filepath.Join(dir, "db")
	if _, err := Open(file, nil); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Fatalf("Open of a file: %v", err)
	}
}

func TestEnvOnlyFromAllowedNames(t *testing.T) {
	t.Setenv("DURABLE_TEST_TOKEN", "tok-123")
	t.Setenv("DURABLE_SECRET_DB", "db-456")
	t.Setenv("HOME_SECRET", "home")
	s, err := Open("", []string{"DURABLE_TEST_TOKEN", "DURABLE_SECRET_*"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"DURABLE_TEST_TOKEN": "tok-123", "DURABLE_SECRET_DB": "db-456"} {
		if v, err := s.Env(name); err != nil || v != want {
			t.Errorf("Env(%s) = %q, %v", name, v, err)
		}
	}
	for name, want := range map[string]string{
		"HOME_SECRET":          "the reconciler's variable HOME_SECRET is not one the operator allows secrets from; start durable run with --secret-env HOME_SECRET",
		"DURABLE_TEST_TOKEN_2": "--secret-env DURABLE_TEST_TOKEN_2",
		"DURABLE_SECRET_NONE":  "the reconciler has no environment variable DURABLE_SECRET_NONE",
	} {
		if _, err := s.Env(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Env(%s): %v, want %q", name, err, want)
		}
	}
	var none *Secrets
	if _, err := none.Env("DURABLE_TEST_TOKEN"); err == nil || !strings.Contains(err.Error(), "--secret-env DURABLE_TEST_TOKEN") {
		t.Errorf("Env with none allowed: %v", err)
	}
}

func TestOpenRefusesBadSecretEnv(t *testing.T) {
	for _, e := range []string{"*", "", "A B", "A*B", "$(id)", "1A", "A=B", "**", strings.Repeat("A", 300), "A\x00"} {
		if _, err := Open("", []string{e}); err == nil || !strings.Contains(err.Error(), "not a variable name") {
			t.Errorf("--secret-env %.20q: %v, want it refused", e, err)
		}
	}
}
