package hostconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// write puts text in a host file of a fresh, private directory.
func write(t *testing.T, text string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "host.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// plugin is an executable the tests name as a plug-in.
func plugin(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "adapter")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadReadsEveryKindOfEntry(t *testing.T) {
	exe := plugin(t)
	file := write(t, `
plugins:
  docker-py: {command: ["`+exe+`", "--zone", "a"], timeout: 30s}
  lines: {command: ["`+exe+`"], longLived: true}
  once: {command: ["`+exe+`"], longLived: false}
docker:
  local: {host: "unix:///var/run/docker.sock"}
  remote: {host: "tcp://10.0.0.5:2376"}
haproxy:
  edge: {socket: "/run/haproxy/admin.sock"}
routers:
  edge: {admin: "unix:///run/durable/router-admin.sock"}
  tcp: {admin: "127.0.0.1:7071", tokenFile: /etc/durable/router.token}
`)
	c, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Plugin("docker-py")
	if err != nil || strings.Join(p.Command, " ") != exe+" --zone a" || p.Timeout != 30*time.Second {
		t.Errorf("plug-in %+v, %v", p, err)
	}
	if p.LongLived {
		t.Errorf("plug-in docker-py is long-lived without longLived")
	}
	if p, err := c.Plugin("lines"); err != nil || !p.LongLived {
		t.Errorf("plug-in lines %+v, %v; want long-lived", p, err)
	}
	if p, err := c.Plugin("once"); err != nil || p.LongLived {
		t.Errorf("plug-in once %+v, %v; want one-shot", p, err)
	}
	if d, _ := c.DockerHost("remote"); d.Host != "tcp://10.0.0.5:2376" {
		t.Errorf("docker remote = %+v", d)
	}
	if h, _ := c.HAProxySocket("edge"); h.Socket != "/run/haproxy/admin.sock" {
		t.Errorf("haproxy edge = %+v", h)
	}
	if r, _ := c.Router("tcp"); r.Admin != "127.0.0.1:7071" || r.TokenFile != "/etc/durable/router.token" {
		t.Errorf("router tcp = %+v", r)
	}
	// JSON is YAML too.
	if _, err := Load(write(t, `{"routers": {"edge": {"admin": "127.0.0.1:7071"}}}`)); err != nil {
		t.Errorf("JSON host file: %v", err)
	}
}

func TestLoadRefusesBrokenAndHostileFiles(t *testing.T) {
	exe := plugin(t)
	tests := []struct {
		name, text string
		want       []string // each in the error
	}{
		{"unknown top-level field", "plugin:\n  x: {command: [\"" + exe + "\"]}\n",
			[]string{"host.yaml:1:1: the host file: unknown field \"plugin\" (known: plugins, docker, haproxy, routers)"}},
		{"unknown entry field", "routers:\n  edge: {admin: \"127.0.0.1:7071\", token: x}\n",
			[]string{"host.yaml:2:35: routers.edge: unknown field \"token\" (known: admin, tokenFile)"}},
		{"relative command", "plugins:\n  x: {command: [\"sh\", \"-c\", \"id\"]}\n",
			[]string{"host.yaml:2:17: plugins.x.command[0]: \"sh\" is not an absolute, clean path"}},
		{"missing executable", "plugins:\n  x: {command: [\"/nonexistent/adapter\"]}\n",
			[]string{"plugins.x.command[0]: \"/nonexistent/adapter\" cannot be opened", "install the program there or fix the path"}},
		{"not executable", "plugins:\n  x: {command: [\"/etc/passwd\"]}\n", []string{"is not an executable file"}},
		{"command argument not a string", "plugins:\n  x: {command: [\"" + exe + "\", 8080]}\n", []string{"plugins.x.command[1] must be a string; quote it"}},
		{"empty command", "plugins:\n  x: {command: []}\n", []string{"plugins.x.command must be a list of strings"}},
		{"missing command", "plugins:\n  x: {timeout: 3s}\n", []string{"host.yaml:2:6: plugins.x: command is missing"}},
		{"bad timeout", "plugins:\n  x: {command: [\"" + exe + "\"], timeout: -1s}\n", []string{"plugins.x.timeout: \"-1s\" is not a positive Go duration"}},
		{"longLived quoted", "plugins:\n  x: {command: [\"" + exe + "\"], longLived: \"true\"}\n", []string{"host.yaml:2:", "plugins.x.longLived must be true or false, unquoted"}},
		{"longLived yes", "plugins:\n  x: {command: [\"" + exe + "\"], longLived: yes}\n", []string{"plugins.x.longLived must be true or false"}},
		{"longLived a number", "plugins:\n  x: {command: [\"" + exe + "\"], longLived: 1}\n", []string{"plugins.x.longLived must be true or false"}},
		{"longLived a list", "plugins:\n  x: {command: [\"" + exe + "\"], longLived: [true]}\n", []string{"plugins.x.longLived must be true or false"}},
		{"longLived huge", "plugins:\n  x: {command: [\"" + exe + "\"], longLived: " + strings.Repeat("t", 100000) + "}\n", []string{"plugins.x.longLived must be true or false"}},
		{"longLived misspelt", "plugins:\n  x: {command: [\"" + exe + "\"], longlived: true}\n", []string{"plugins.x: unknown field \"longlived\" (known: command, timeout, longLived)"}},
		{"bad name", "haproxy:\n  Edge_1: {socket: /run/a.sock}\n", []string{"host.yaml:2:3: haproxy: \"Edge_1\" is not a name"}},
		{"relative socket", "haproxy:\n  edge: {socket: run/a.sock}\n", []string{"haproxy.edge.socket: \"run/a.sock\" is not an absolute, clean path"}},
		{"dotdot socket", "haproxy:\n  edge: {socket: /run/../etc/a.sock}\n", []string{"is not an absolute, clean path"}},
		{"bad docker host", "docker:\n  x: {host: \"ssh://me@there\"}\n", []string{"docker.x.host: \"ssh://me@there\" is not a Docker engine address"}},
		{"bad admin", "routers:\n  edge: {admin: \"localhost\"}\n", []string{"routers.edge.admin: \"localhost\" is neither HOST:PORT nor unix:///PATH"}},
		{"admin port out of range", "routers:\n  edge: {admin: \"127.0.0.1:99999\"}\n", []string{"is neither HOST:PORT"}},
		{"admin not a string", "routers:\n  edge: {admin: 7071}\n", []string{"routers.edge.admin must be a string"}},
		{"relative token file", "routers:\n  edge: {admin: \"127.0.0.1:7071\", tokenFile: token}\n", []string{"routers.edge.tokenFile: \"token\" is not an absolute"}},
		{"section not a mapping", "routers: [edge]\n", []string{"host.yaml:1:10: routers must be a mapping of names to entries"}},
		{"duplicate name", "routers:\n  edge: {admin: \"127.0.0.1:1\"}\n  edge: {admin: \"127.0.0.1:2\"}\n", []string{"host.yaml:3:3: routers: edge is written twice"}},
		{"alias", "routers:\n  a: &x {admin: \"127.0.0.1:1\"}\n  b: *x\n", []string{"YAML anchors and aliases are not supported"}},
		{"syntax", "routers:\n  edge: {admin: \n", []string{"fix the YAML syntax"}},
		{"terminal escapes in a name", "routers:\n  \"\\e[31mx\": {admin: \"127.0.0.1:1\"}\n", []string{"is not a name"}},
		{"every problem at once", "routers:\n  a: {admin: x}\nhaproxy:\n  b: {socket: y}\n",
			[]string{"host.yaml:2:14: routers.a.admin", "host.yaml:4:15: haproxy.b.socket"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(write(t, tt.text))
			if err == nil {
				t.Fatalf("loaded %+v; want an error", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nwant it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\x1b") {
				t.Errorf("error carries a terminal escape: %q", err)
			}
		})
	}
}

func TestLoadRefusesOversizedAndUnsafeFiles(t *testing.T) {
	big := write(t, "routers:\n"+strings.Repeat("# padding padding padding padding\n", maxFile/30))
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
		t.Errorf("oversized file: %v", err)
	}
	loose := write(t, "routers: {}\n")
	if err := os.Chmod(loose, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(loose); err == nil || !strings.Contains(err.Error(), "is writable by group or others (mode 0666): any local user could make the reconciler run a command of theirs") {
		t.Errorf("world-writable file: %v", err)
	}
	if os.Geteuid() == 0 { // giving a file to another user needs root; CI runs as root
		foreign := write(t, "routers: {}\n")
		if err := os.Chown(foreign, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(foreign); err == nil || !strings.Contains(err.Error(), "is owned by uid 65534") {
			t.Errorf("a host file of another user: %v", err)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml")); err == nil || !strings.Contains(err.Error(), "the host file does not exist") {
		t.Errorf("absent file: %v", err)
	}
	exe := plugin(t)
	if err := os.Chmod(exe, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(write(t, "plugins:\n  x: {command: [\""+exe+"\"]}\n")); err == nil || !strings.Contains(err.Error(), "plug-in executable "+exe+" is writable by group or others") {
		t.Errorf("world-writable plug-in: %v", err)
	}
}

func TestLookupSaysWhichNamesThereAreAndHowToAddOne(t *testing.T) {
	c, err := Load(write(t, "routers:\n  edge: {admin: \"127.0.0.1:7071\"}\n  west: {admin: \"127.0.0.1:7072\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Router("east")
	if want := `router admin address "east" is not in the host file ` + c.File + ` (it names edge, west); name one of those, or add routers: {east: {admin: "unix:///run/durable/router-admin.sock"}} to it`; err == nil || err.Error() != want {
		t.Errorf("lookup error\n%v\nwant\n%s", err, want)
	}
	var none *Config
	if _, err := none.Plugin("sh"); err == nil || !strings.Contains(err.Error(), "the reconciler runs without a host file; write one and pass it as durable run --host-config FILE") {
		t.Errorf("lookup without a host file: %v", err)
	}
	if _, err := c.Plugin("sh"); err == nil || !strings.Contains(err.Error(), "(it names none)") {
		t.Errorf("lookup of an empty section: %v", err)
	}
	var many strings.Builder
	many.WriteString("haproxy:\n")
	for i := range 1000 {
		fmt.Fprintf(&many, "  s%d: {socket: /run/s%d.sock}\n", i, i)
	}
	c, err = Load(write(t, many.String()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.HAProxySocket("edge"); err == nil || !strings.Contains(err.Error(), ", and 980 more)") || len(err.Error()) > 1000 {
		t.Errorf("lookup among 1,000 names: %v", err)
	}
}
