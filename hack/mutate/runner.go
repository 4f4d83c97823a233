package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// outcome is what a package's tests made of a mutant.
type outcome int

const (
	survived outcome = iota // the tests passed: nothing noticed the change
	killed                  // a test failed
	timedOut                // the tests ran past the timeout: counted as killed
	unbuilt                 // the mutant does not compile: not counted
)

func (o outcome) String() string {
	return [...]string{"survived", "killed", "killed (timeout)", "not built"}[o]
}

// runner runs one package's tests in the module copy at dir.
type runner struct {
	dir, pkg, run string
	timeout       time.Duration
}

// test runs the tests once and says what they made of the code as it is
// now in the copy, with the first failing line of their output.
func (r runner) test(ctx context.Context) (outcome, string) {
	args := []string{"test", "-count=1", "-vet=off", "-timeout", r.timeout.String()}
	if r.run != "" {
		args = append(args, "-run", r.run)
	}
	args = append(args, "./"+filepath.ToSlash(r.pkg)+"/")
	// go test stops its test binary at -timeout; the margin covers the
	// build, and the process group kill anything left behind.
	ctx, cancel := context.WithTimeout(ctx, r.timeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = r.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	switch {
	case err == nil:
		return survived, ""
	case ctx.Err() != nil || bytes.Contains(out, []byte("panic: test timed out")):
		return timedOut, "timed out"
	case bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")):
		return unbuilt, firstLine(out, nil)
	}
	return killed, firstLine(out, []byte("    "))
}

// firstLine is the first line of out that starts with prefix (a failing
// test's message is indented), else its first that is not a package
// header ("# pkg").
func firstLine(out, prefix []byte) string {
	lines := bytes.Split(out, []byte("\n"))
	for _, l := range lines {
		if prefix != nil && bytes.HasPrefix(l, prefix) {
			return string(bytes.TrimSpace(l))
		}
	}
	for _, l := range lines {
		if len(l) > 0 && l[0] != '#' {
			return string(bytes.TrimSpace(l))
		}
	}
	return ""
}
