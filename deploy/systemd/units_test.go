// Package systemd_test checks the systemd units, sysusers.d and tmpfiles.d
// files of deploy/systemd with systemd's own tools: systemd-analyze verify
// and security, systemd-sysusers and systemd-tmpfiles on a scratch root.
// It holds no code of Durable; it must never skip (hack/install-deps.sh
// installs Debian's systemd package).
package systemd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

var units = []string{"durable-reconciler.service", "durable-router.service", "durable-agent.service",
	"durable-journal-backup.service", "durable-journal-backup.timer"}

// tool is the path of one of systemd's programs; a machine without it
// fails the test: run hack/install-deps.sh.
func tool(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/" + name, "/bin/" + name} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install Debian's systemd package (hack/install-deps.sh does)", name)
	}
	return p
}

// installUnits copies the units into a scratch folder with ExecStart's
// program rewritten to one that exists (verify checks it does), and the
// run-as drop-in enabled when dropIn is true.
func installUnits(t *testing.T, dropIn bool) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(from, to string) {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "/usr/local/bin/durable", self)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range units {
		write(u, filepath.Join(dir, u))
	}
	if dropIn {
		write("durable-reconciler.service.d/run-as.conf.example", filepath.Join(dir, "durable-reconciler.service.d", "run-as.conf"))
	}
	return dir
}

// TestUnitsVerify: systemd-analyze verify accepts every unit, with and
// without the run-as drop-in, and says nothing about them (it exits 0 on
// an unknown key or a deprecated setting, and only says so).
func TestUnitsVerify(t *testing.T) {
	analyze := tool(t, "systemd-analyze")
	for _, dropIn := range []bool{false, true} {
		dir := installUnits(t, dropIn)
		args := []string{"verify", "--man=no"}
		for _, u := range units {
			args = append(args, filepath.Join(dir, u))
		}
		out, err := exec.Command(analyze, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("systemd-analyze verify (drop-in %v): %v\n%s", dropIn, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, dir) || strings.Contains(line, "durable") {
				t.Errorf("systemd-analyze verify (drop-in %v) warns: %s", dropIn, line)
			}
		}
	}
}

// TestVerifyCatchesABrokenUnit: the check above can fail: a misspelt key
// and a missing program are reported.
func TestVerifyCatchesABrokenUnit(t *testing.T) {
	analyze := tool(t, "systemd-analyze")
	dir := installUnits(t, false)
	unit := filepath.Join(dir, "durable-router.service")
	data, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), "ProtectHome=yes", "ProtectHomes=yes", 1)
	broken = regexp.MustCompile(`ExecStart=\S+`).ReplaceAllString(broken, "ExecStart=/no/such/durable")
	if err := os.WriteFile(unit, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(analyze, "verify", "--man=no", unit).CombinedOutput()
	for _, want := range []string{"Unknown key 'ProtectHomes'", "/no/such/durable"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("verify of a broken unit does not say %q:\n%s", want, out)
		}
	}
}

// TestUnitsExposure: systemd-analyze security (offline, on the files)
// rates each unit's exposure at most 3.0 of 10 ("OK"), the reconciler's
// too with the run-as drop-in.
func TestUnitsExposure(t *testing.T) {
	analyze := tool(t, "systemd-analyze")
	level := regexp.MustCompile(`Overall exposure level for (\S+): ([0-9.]+)`)
	for _, dropIn := range []bool{false, true} {
		dir := installUnits(t, dropIn)
		for _, u := range units {
			if !strings.HasSuffix(u, ".service") {
				continue
			}
			cmd := exec.Command(analyze, "security", "--offline=true", "--no-pager", u)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			m := level.FindSubmatch(out)
			if err != nil || m == nil {
				t.Fatalf("systemd-analyze security %s: %v\n%s", u, err, out)
			}
			score, _ := strconv.ParseFloat(string(m[2]), 64)
			t.Logf("%s (run-as drop-in %v): exposure %.1f", u, dropIn, score)
			if score > 3.0 {
				t.Errorf("%s (run-as drop-in %v): exposure %.1f, more than 3.0:\n%s", u, dropIn, score, out)
			}
		}
	}
}

// TestUsersAndDirectories: systemd-sysusers and systemd-tmpfiles, on a
// scratch root, make the users, groups and folders the units expect, with
// the owners and modes that keep other local users out of the sockets and
// the state, and say nothing about the files.
func TestUsersAndDirectories(t *testing.T) {
	root := t.TempDir()
	for from, to := range map[string]string{
		"sysusers.d-durable.conf": "usr/lib/sysusers.d/durable.conf",
		"tmpfiles.d-durable.conf": "usr/lib/tmpfiles.d/durable.conf",
	} {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(to)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, to), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, step := range [][]string{{tool(t, "systemd-sysusers"), "--root=" + root}, {tool(t, "systemd-tmpfiles"), "--root=" + root, "--create"}} {
		out, err := exec.Command(step[0], step[1:]...).CombinedOutput()
		if err != nil || strings.Contains(string(out), "durable.conf") {
			t.Fatalf("%s: %v\n%s", strings.Join(step, " "), err, out)
		}
	}
	ids := func(file string) map[string][]string {
		data, err := os.ReadFile(filepath.Join(root, "etc", file))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			f := strings.Split(line, ":")
			out[f[0]] = f
		}
		return out
	}
	users, groups := ids("passwd"), ids("group")
	uid := func(name string) uint32 { n, _ := strconv.Atoi(users[name][2]); return uint32(n) }
	gid := func(name string) uint32 { n, _ := strconv.Atoi(groups[name][2]); return uint32(n) }
	for _, m := range []struct{ user, group string }{{"durable", "durable-router"}, {"durable", "durable-admin"}, {"durable-agent", "durable-router"}} {
		if !strings.Contains(","+groups[m.group][3]+",", ","+m.user+",") {
			t.Errorf("%s is not a member of %s: %v", m.user, m.group, groups[m.group])
		}
	}
	if members := groups["durable-router"][3]; members != "durable,durable-agent" {
		t.Errorf("durable-router's members are %q: only the reconciler and the agent may drive the router", members)
	}
	for _, d := range []struct {
		path, user, group string
		mode              os.FileMode
	}{
		{"var/lib/durable", "durable", "durable", 0o700},
		{"var/lib/durable-router", "durable-router", "durable-router", 0o700},
		{"var/lib/durable-agent", "durable-agent", "durable-agent", 0o700},
		{"var/backups/durable", "durable", "durable", 0o700},
		{"run/durable", "durable", "durable-admin", 0o750},
		{"run/durable-router", "durable-router", "durable-router", 0o750},
		{"etc/durable/secrets", "durable", "durable", 0o700},
	} {
		fi, err := os.Stat(filepath.Join(root, d.path))
		if err != nil {
			t.Errorf("%s: %v", d.path, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != d.mode || st.Uid != uid(d.user) || st.Gid != gid(d.group) {
			t.Errorf("/%s is %04o %d:%d, want %04o %s:%s", d.path, fi.Mode().Perm(), st.Uid, st.Gid, d.mode, d.user, d.group)
		}
		if fi.Mode().Perm()&0o007 != 0 {
			t.Errorf("/%s lets other users in (mode %04o)", d.path, fi.Mode().Perm())
		}
	}
}

// TestUnitsAgreeWithTheDirectories: what each unit writes and the group
// it gives its socket are the folders and groups tmpfiles.d and
// sysusers.d make.
func TestUnitsAgreeWithTheDirectories(t *testing.T) {
	tmpfiles, err := os.ReadFile("tmpfiles.d-durable.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ unit, writes, socket, group string }{
		{"durable-reconciler.service", "/var/lib/durable /run/durable", "/run/durable/api.sock", "durable-admin"},
		{"durable-router.service", "/var/lib/durable-router /run/durable-router", "/run/durable-router/admin.sock", "durable-router"},
		{"durable-agent.service", "/var/lib/durable-agent", "", ""},
		{"durable-journal-backup.service", "/var/backups/durable", "", ""},
	} {
		data, err := os.ReadFile(c.unit)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		if !strings.Contains(text, "\nReadWritePaths="+c.writes+"\n") {
			t.Errorf("%s: want ReadWritePaths=%s", c.unit, c.writes)
		}
		for _, dir := range strings.Fields(c.writes) {
			if !regexp.MustCompile(`(?m)^d\s+` + regexp.QuoteMeta(dir) + `\s`).Match(tmpfiles) {
				t.Errorf("%s writes %s, which tmpfiles.d does not make", c.unit, dir)
			}
		}
		if c.socket != "" && !strings.Contains(text, "unix://"+c.socket+" --socket-group "+c.group) {
			t.Errorf("%s: want its socket %s with group %s", c.unit, c.socket, c.group)
		}
	}
}
