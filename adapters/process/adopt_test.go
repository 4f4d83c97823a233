package process

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// envImpostor makes the test binary serve as an impostor instance: see
// TestImpostorHelper.
const envImpostor = "DURABLE_TEST_IMPOSTOR"

// TestImpostorHelper is no test: run by impostor with envImpostor set, it
// answers "impostor" on 127.0.0.1:$PORT until killed.
func TestImpostorHelper(t *testing.T) {
	if os.Getenv(envImpostor) != "1" {
		return
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", os.Getenv(envPort)))
	if err != nil {
		t.Fatal(err)
	}
	_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "impostor") }))
}

// impostor starts, as cred (nil: this user), a copy of the test binary that
// carries the markers of instance 0 of spec in rt's root and listens on
// endpoint, and returns its pid once it answers there. It is killed when the
// test ends.
func impostor(t *testing.T, rt *Runtime, spec adapters.InfraSetSpec, endpoint string, cred *syscall.Credential) int {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A directory and program any user can run (the test's own temporary
	// directories are private).
	dir, err := os.MkdirTemp("", "durable-impostor-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(dir, "impostor")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prog, b, 0o755); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(endpoint)
	cmd, err := startBusyRetried(context.Background(), 0, func() *exec.Cmd {
		cmd := exec.Command(prog, "-test.run=^TestImpostorHelper$")
		cmd.Env = []string{envImpostor + "=1", envPort + "=" + port, envRoot + "=" + rt.root, envSet + "=" + spec.ID,
			envService + "=" + spec.Service, envRelease + "=" + spec.Release, envInstance + "=0"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: cred}
		return cmd
	})
	if err != nil {
		t.Fatalf("start the impostor: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(healthTimeout)
	for {
		if c, err := net.Dial("tcp", endpoint); err == nil {
			c.Close()
			if body := get(t, endpoint); body != "impostor" {
				t.Fatalf("%s answered %q, not the impostor", endpoint, body)
			}
			return cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("the impostor never listened on %s", endpoint)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killInstance kills the set's instance 0 and waits until it is gone, and
// returns it as it was.
func killInstance(t *testing.T, st adapters.InfraSetStatus) adapters.Instance {
	t.Helper()
	victim := st.Instances[0]
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(healthTimeout)
	for alive(victim.PID) {
		if time.Now().After(deadline) {
			t.Fatalf("instance %d never died", victim.PID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return victim
}

// checkRefused checks that Observe lists pid as an instance of set that is
// not adopted, for a reason containing why, and that Ensure then runs an
// instance of its own, serving the demo service rather than pid.
func checkRefused(t *testing.T, rt *Runtime, spec adapters.InfraSetSpec, pid int, why string) {
	t.Helper()
	obs, found := observeSet(t, rt, spec.ID)
	if !found || len(obs.Instances) != 1 {
		t.Fatalf("observed %+v (found %v), want the one refused process %d", obs.Instances, found, pid)
	}
	if in := obs.Instances[0]; in.PID != pid || in.Healthy || in.Endpoint != "" ||
		!strings.Contains(in.Reason, "not adopted") || !strings.Contains(in.Reason, why) {
		t.Errorf("observed %+v, want pid %d not adopted because %q, with no endpoint", in, pid, why)
	}
	after := ensureHealthy(t, rt, spec)
	in := after.Instances[0]
	if in.PID == pid {
		t.Fatalf("Ensure adopted the process %d that is not the instance", pid)
	}
	if body := get(t, in.Endpoint); !strings.Contains(body, "hello from quickstart v1") {
		t.Errorf("the replacement at %s answered %q", in.Endpoint, body)
	}
}

// TestAnotherUsersImpostorIsNotAdopted reproduces issue 13: a process of
// uid nobody that carries the markers of a real instance, on its port, once
// the instance died, must not be adopted (nor signalled); a replacement
// runs instead.
func TestAnotherUsersImpostorIsNotAdopted(t *testing.T) {
	if os.Geteuid() != 0 {
		// CI runs as root: there, a missing privilege is a failure.
		msg := fmt.Sprintf("this test starts a process as uid 65534 (nobody): run it as root (uid is %d)", os.Geteuid())
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Parallel()
	spec := demoSpec("web-impostor", 1)
	spec.Artifact = demoImage(t)
	rt := newRuntime(t, t.TempDir())
	victim := killInstance(t, ensureHealthy(t, rt, spec))

	pid := impostor(t, rt, spec, victim.Endpoint, &syscall.Credential{Uid: 65534, Gid: 65534})
	checkRefused(t, rt, spec, pid, "runs as uid 65534")

	if err := rt.Remove(context.Background(), spec.ID, 5*time.Second); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if !alive(pid) {
		t.Errorf("Remove signalled the process %d of another user", pid)
	}
}

// TestAnInstanceRunningAProgramOutsideItsImageIsNotAdopted runs an entrypoint
// that execs a program of the host: the recorded process (same pid, start
// time and uid) then runs outside the set's unpacked image, and is not
// adopted.
func TestAnInstanceRunningAProgramOutsideItsImageIsNotAdopted(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir())
	script := "#!/bin/sh\nexec sleep 600\n"
	layer := tarOf(t, dir("bin/"), entry{Header: tar.Header{Name: "bin/run", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(script))}, body: script})
	spec := demoSpec("outside", 1)
	spec.Artifact = pushImage(t, "outside/image", layer, "/bin/run")
	st, err := rt.Ensure(context.Background(), spec)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	pid := st.Instances[0].PID
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	sleep, _ = filepath.EvalSymlinks(sleep)
	deadline := time.Now().Add(healthTimeout)
	for {
		if exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); exe == sleep {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the instance %d never ran %s", pid, sleep)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Right after the exec, the kernel may show the new program before its
	// environment (and so its markers): observe until both are there.
	for {
		obs, _ := observeSet(t, rt, spec.ID)
		if len(obs.Instances) == 1 && obs.Instances[0].PID == pid && strings.Contains(obs.Instances[0].Reason, "runs "+sleep) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("observed %+v, want %d not adopted as it runs %s", obs.Instances, pid, sleep)
		}
		time.Sleep(20 * time.Millisecond)
	}
	again, err := rt.Ensure(context.Background(), spec)
	if err != nil {
		t.Fatalf("Ensure again: %v", err)
	}
	if got := again.Instances[0].PID; got == pid {
		t.Errorf("Ensure adopted %d, which runs %s", pid, sleep)
	}
	// Not adopted, and not left running beside its replacement either: each
	// Ensure would otherwise leave one more process behind.
	if alive(pid) {
		t.Errorf("the refused process %d of this user still runs after Ensure", pid)
	}
}

// TestASameUserImpostorIsNotAdopted starts, as this user, a program outside
// the set's image that carries the markers of instance 0 on its port: it is
// not the recorded process, and is not adopted.
func TestASameUserImpostorIsNotAdopted(t *testing.T) {
	t.Parallel()
	spec := demoSpec("web-same-user", 1)
	spec.Artifact = demoImage(t)
	rt := newRuntime(t, t.TempDir())
	victim := killInstance(t, ensureHealthy(t, rt, spec))
	pid := impostor(t, rt, spec, victim.Endpoint, nil)
	checkRefused(t, rt, spec, pid, "is not the recorded pid")
}

// TestAReusedPIDIsNotAdopted gives the recorded instance's pid to an
// impostor, as if the instance died and the kernel reused its pid: its
// start time differs from the recorded one, and it is not adopted.
func TestAReusedPIDIsNotAdopted(t *testing.T) {
	t.Parallel()
	spec := demoSpec("web-reused", 1)
	spec.Artifact = demoImage(t)
	rt := newRuntime(t, t.TempDir())
	victim := killInstance(t, ensureHealthy(t, rt, spec))
	pid := impostor(t, rt, spec, victim.Endpoint, nil)
	dir := rt.setDir(spec.ID)
	rec, err := readRecord(dir, 0, rt.uid)
	if err != nil {
		t.Fatal(err)
	}
	if rec.PID != victim.PID {
		t.Fatalf("the record names pid %d, the instance was %d", rec.PID, victim.PID)
	}
	rec.PID = pid // the impostor's exe is checked after its start time
	if err := writeRecord(dir, 0, rec); err != nil {
		t.Fatal(err)
	}
	checkRefused(t, rt, spec, pid, "a reused pid")
}
