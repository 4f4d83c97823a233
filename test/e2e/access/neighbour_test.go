package access

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// neighbourScript is another local user's HTTP client: python3 (installed
// by hack/install-deps.sh) speaking HTTP over TCP or a Unix socket. It
// prints the status code, or "refused ERRNO" when it cannot connect.
const neighbourScript = `
import http.client, socket, sys
method, target, path, body, token = sys.argv[1:6]
class Unix(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(target[len("unix://"):])
conn = Unix("localhost", timeout=5) if target.startswith("unix://") else http.client.HTTPConnection(target, timeout=5)
headers = {"Content-Type": "application/json"}
if token:
    headers["Authorization"] = "Bearer " + token
try:
    conn.request(method, path, body=body or None, headers=headers)
    resp = conn.getresponse()
    print(resp.status, resp.getheader("WWW-Authenticate") or "", resp.read().decode()[:500])
except OSError as e:
    print("refused", e.errno)
`

// neighbour is the uid and gid of user nobody, another local user.
type neighbour struct{ uid, gid uint32 }

// asNobody returns user nobody, skipping the test when it cannot act as
// another user (not root) unless CI=true, where it must run.
func asNobody(t *testing.T) neighbour {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("acting as another local user needs root, which CI has")
		}
		t.Skip("acting as another local user (nobody) needs root; CI runs it")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return neighbour{uid: uint32(uid), gid: uint32(gid)}
}

// call makes one HTTP call as the neighbour and returns what the script
// printed: "STATUS CHALLENGE BODY" or "refused ERRNO".
func (n neighbour) call(t *testing.T, method, target, path, body, token string) string {
	t.Helper()
	// The system's python3: one under root's home is not nobody's to run.
	cmd := exec.Command("/usr/bin/python3", "-c", neighbourScript, method, target, path, body, token)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: n.uid, Gid: n.gid}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 as nobody: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// sharedDir is a fresh directory every user may enter, as /run/durable is,
// so that only a socket's own mode keeps a neighbour out.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "durable-access-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(dir)
}
