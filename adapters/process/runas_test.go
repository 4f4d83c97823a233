package process

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/adapters"
)

// needRoot skips a test that starts processes as another user when not
// run as root; CI runs as root, where a missing privilege is a failure.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	msg := fmt.Sprintf("this test starts instances as nobody: run it as root (uid is %d)", os.Geteuid())
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// reachableDir is a new directory every user may pass through (the test's
// own temporary directories are private).
func reachableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "durable-runas-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// procIDs returns the Uid and Groups lines of /proc/PID/status.
func procIDs(t *testing.T, pid int) (uids, groups string) {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			uids = strings.Join(strings.Fields(rest), " ")
		}
		if rest, ok := strings.CutPrefix(line, "Groups:"); ok {
			groups = strings.TrimSpace(rest)
		}
	}
	return uids, groups
}

// TestInstancesRunAsTheRunAsUser: with RunAs nobody, a root runtime starts
// instances whose every uid is nobody's, with no supplementary group, and
// they serve; a runtime started again adopts them, and one that runs
// instances as root no longer does, but replaces them.
func TestInstancesRunAsTheRunAsUser(t *testing.T) {
	needRoot(t)
	t.Parallel()
	nobody, err := adapters.LookupRunAs("nobody")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(reachableDir(t), "process")
	spec := demoSpec("web-runas", 2)
	spec.Artifact = demoImage(t)
	rt := newRuntimeWith(t, Config{Root: root, RunAs: nobody})
	st := ensureHealthy(t, rt, spec)
	want := strings.Repeat(strconv.Itoa(int(nobody.UID))+" ", 4)
	for _, in := range st.Instances {
		if uids, groups := procIDs(t, in.PID); uids != strings.TrimSpace(want) || groups != "" {
			t.Errorf("instance %d (pid %d): Uid %q Groups %q, want Uid %q and no group", in.Index, in.PID, uids, groups, want)
		}
		if body := get(t, in.Endpoint); !strings.Contains(body, "hello from quickstart v1") {
			t.Errorf("instance %d at %s answered %q", in.Index, in.Endpoint, body)
		}
	}

	again := newRuntimeWith(t, Config{Root: root, RunAs: nobody})
	if obs := ensureHealthy(t, again, spec); obs.Instances[0].PID != st.Instances[0].PID {
		t.Errorf("a runtime started again with the same user replaced instance 0 (pid %d, now %d)", st.Instances[0].PID, obs.Instances[0].PID)
	}

	asRoot := newRuntimeWith(t, Config{Root: root})
	obs, _ := observeSet(t, asRoot, spec.ID)
	if len(obs.Instances) == 0 || !strings.Contains(obs.Instances[0].Reason, "instances run as uid 0") {
		t.Fatalf("a runtime running instances as root observed %+v, want nobody's instances not adopted", obs.Instances)
	}
	after := ensureHealthy(t, asRoot, spec)
	if uids, _ := procIDs(t, after.Instances[0].PID); uids != "0 0 0 0" {
		t.Errorf("the replacement runs as %q, want root", uids)
	}
	if alive(st.Instances[0].PID) {
		t.Errorf("nobody's instance %d still runs beside its replacement", st.Instances[0].PID)
	}
}

// TestRunAsNeedsARootItCanReach: instances cannot run what is unpacked
// where their user cannot go; the runtime says so when it is made.
func TestRunAsNeedsARootItCanReach(t *testing.T) {
	needRoot(t)
	nobody, err := adapters.LookupRunAs("nobody")
	if err != nil {
		t.Fatal(err)
	}
	private := t.TempDir() // 0700
	_, err = New(Config{Root: filepath.Join(private, "process"), RunAs: nobody})
	if err == nil || !strings.Contains(err.Error(), "cannot reach") || !strings.Contains(err.Error(), "chmod o+x") {
		t.Fatalf("New = %v, want a refusal saying nobody cannot reach the root and how to fix it", err)
	}
}
