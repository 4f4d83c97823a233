package hostfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenSecretRefusesAFileOthersMayRead(t *testing.T) {
	tests := []struct {
		mode os.FileMode
		want string // in the error; "" when the file is accepted
	}{
		{mode: 0o600},
		{mode: 0o400},
		{mode: 0o644, want: "is open to group or others (mode 0644; a secret must be readable by its owner alone): any local user could decrypt every SOPS secret; chmod 600 "},
		{mode: 0o640, want: "(mode 0640; "},
		{mode: 0o604, want: "(mode 0604; "},
		{mode: 0o620, want: "(mode 0620; "},
		{mode: 0o666, want: "(mode 0666; "},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "age.key")
			if err := os.WriteFile(file, []byte("AGE-SECRET-KEY-1\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(file, tt.mode); err != nil {
				t.Fatal(err)
			}
			f, err := OpenSecret(file, "age identity file", "swap in an identity of their own", "decrypt every SOPS secret")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("OpenSecret of a file only its owner reads: %v", err)
				}
				f.Close()
				return
			}
			var unsafe *UnsafeError
			if !errors.As(err, &unsafe) || !strings.Contains(err.Error(), tt.want) || !strings.HasSuffix(err.Error(), "chmod 600 "+file) {
				t.Fatalf("OpenSecret: %v, want an *UnsafeError saying %q and ending with the fix", err, tt.want)
			}
		})
	}
}

func TestOpenSecretChecksItsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "age.key")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := OpenSecret(file, "age identity file", "swap in an identity of their own", "decrypt every SOPS secret")
	var unsafe *UnsafeError
	if !errors.As(err, &unsafe) || unsafe.Path != dir {
		t.Fatalf("OpenSecret in a world-writable directory: %v, want it refused naming %s", err, dir)
	}
	if _, err := OpenSecret(filepath.Join(dir, "missing"), "age identity file", "swap it", "read it"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenSecret of a missing file: %v, want ErrNotExist", err)
	}
}
