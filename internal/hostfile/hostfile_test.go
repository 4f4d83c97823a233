package hostfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// nobody is the uid a file owned by another user is given.
const nobody = 65534

func TestOpenRefusesFilesAnotherUserCouldWrite(t *testing.T) {
	tests := []struct {
		name    string
		mode    os.FileMode // of the file
		dirMode os.FileMode // of its directory
		chown   bool        // give the file to nobody
		want    string      // in the error; "" when the file is accepted
	}{
		{name: "owner only", mode: 0o600, dirMode: 0o700},
		{name: "readable by all", mode: 0o644, dirMode: 0o755},
		{name: "world-writable", mode: 0o666, dirMode: 0o755, want: "is writable by group or others (mode 0666): any local user could add a signing key; chmod go-w "},
		{name: "group-writable", mode: 0o664, dirMode: 0o755, want: "(mode 0664)"},
		{name: "writable by others only", mode: 0o602, dirMode: 0o755, want: "(mode 0602)"},
		{name: "in a world-writable directory", mode: 0o644, dirMode: 0o777, want: "the directory of trust file "},
		{name: "in a group-writable directory", mode: 0o644, dirMode: 0o775, want: "(mode 0775)"},
		{name: "in a sticky world-writable directory", mode: 0o644, dirMode: 0o777 | os.ModeSticky},
		{name: "owned by another user", mode: 0o644, dirMode: 0o755, chown: true, want: "is owned by uid 65534"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.chown && os.Geteuid() != 0 {
				t.Skip("giving a file to another user needs root; CI runs as root")
			}
			dir := filepath.Join(t.TempDir(), "etc")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "trust.yaml")
			if err := os.WriteFile(file, []byte("artifacts: []\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			// Chmod, not the umask-filtered modes of Mkdir and WriteFile.
			if err := os.Chmod(file, tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.dirMode); err != nil {
				t.Fatal(err)
			}
			if tt.chown {
				if err := os.Chown(file, nobody, nobody); err != nil {
					t.Fatal(err)
				}
			}

			f, err := Open(file, "trust file", "add a signing key")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Open of a safe file: %v", err)
				}
				f.Close()
				return
			}
			var unsafe *UnsafeError
			if !errors.As(err, &unsafe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open: %v, want an *UnsafeError saying %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), unsafe.Path) || !strings.Contains(err.Error(), "; ch") {
				t.Errorf("the error does not name %s and the command that fixes it: %v", unsafe.Path, err)
			}
			t.Log(err)
		})
	}
}

func TestOpenChecksTheDirectoryASymlinkLeadsTo(t *testing.T) {
	base := t.TempDir()
	shared := filepath.Join(base, "shared")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(shared, "key.pub")
	if err := os.WriteFile(real, []byte("key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "key.pub")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	_, err := Open(link, "key file", "add a signing key")
	var unsafe *UnsafeError
	if !errors.As(err, &unsafe) || unsafe.Path != shared {
		t.Fatalf("Open through a symlink into a world-writable directory: %v, want it refused naming %s", err, shared)
	}
}

func TestOpenOfAMissingFile(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing"), "trust file", "add a signing key")
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open of a missing file: %v, want ErrNotExist", err)
	}
}

func TestOpenSecretRefusesFilesOthersCouldRead(t *testing.T) {
	for _, tt := range []struct {
		mode os.FileMode
		want string // in the error; "" when the file is accepted
	}{
		{mode: 0o600},
		{mode: 0o400},
		{mode: 0o644, want: "is open to group or others (mode 0644): any local user could read it; chmod 600 "},
		{mode: 0o640, want: "(mode 0640)"},
		{mode: 0o604, want: "(mode 0604)"},
		{mode: 0o601, want: "(mode 0601)"},
		{mode: 0o660, want: "is writable by group or others (mode 0660)"},
	} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "id_ed25519")
			if err := os.WriteFile(file, []byte("SECRET-BODY"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(file, tt.mode); err != nil {
				t.Fatal(err)
			}
			f, err := OpenSecret(file, "ssh key", "log in as the reconciler")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("OpenSecret of a private file: %v", err)
				}
				f.Close()
				return
			}
			var unsafe *UnsafeError
			if !errors.As(err, &unsafe) || unsafe.Path != file || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("OpenSecret: %v, want an *UnsafeError on %s saying %q", err, file, tt.want)
			}
			if strings.Contains(err.Error(), "SECRET-BODY") {
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}
	// Open, for files that are not secrets, still accepts a readable one.
	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(file, "known hosts file", "impersonate the server")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestOpenOfAFIFODoesNotHang(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(fifo, "trust file", "add a signing key")
	if err != nil {
		t.Fatalf("Open of a FIFO: %v", err)
	}
	f.Close()
	if _, err := OpenSecret(fifo, "token file", "replace the token"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("OpenSecret of a FIFO: %v, want it refused as not a regular file", err)
	}
}
