package process

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// Marker variables every instance carries: how the runtime finds its own.
const (
	envRoot     = "DURABLE_PROCESS_ROOT"
	envSet      = "DURABLE_INFRA_SET"
	envService  = "DURABLE_SERVICE"
	envRelease  = "DURABLE_RELEASE"
	envInstance = "DURABLE_INSTANCE"
	envPort     = "PORT"
	envHost     = "HOST"
)

// start runs instance index of the set: the image's entrypoint and command
// (or spec.Args in place of the command), from the image's files, on a
// free port of the bind address, its output appended to the set's directory. The
// child leads a session of its own so that it outlives the reconciler; the
// reaper collects its exit.
func (r *Runtime) start(ctx context.Context, spec adapters.InfraSetSpec, img unpacked, index int) (proc, error) {
	argv := slices.Clone(img.config.Entrypoint)
	if len(spec.Args) > 0 {
		argv = append(argv, spec.Args...)
	} else {
		argv = append(argv, img.config.Cmd...)
	}
	if len(argv) == 0 {
		return proc{}, fmt.Errorf("%s has no entrypoint or cmd to run: give the service args, or build the image with an ENTRYPOINT: %w", spec.Artifact, adapters.ErrInvalid)
	}
	prog, err := inImage(img.rootfs, argv[0])
	if err != nil {
		return proc{}, fmt.Errorf("%s: program: %w", spec.Artifact, err)
	}
	workdir := img.rootfs
	if img.config.WorkingDir != "" {
		if workdir, err = inImage(img.rootfs, img.config.WorkingDir); err != nil {
			return proc{}, fmt.Errorf("%s: working directory: %w", spec.Artifact, err)
		}
	}
	port, err := freePort(r.bind)
	if err != nil {
		return proc{}, err
	}
	exe, err := kernelExe(prog)
	if err != nil {
		return proc{}, fmt.Errorf("%s: %w", spec.Artifact, err)
	}
	// The set's directory holds the records the instances are recognised
	// by: only this user may write in it.
	dir := r.setDir(spec.ID)
	if err := mkPrivateDir(filepath.Dir(dir), 0o755, r.uid); err != nil {
		return proc{}, fmt.Errorf("set directory: %w", err)
	}
	if err := mkPrivateDir(dir, 0o755, r.uid); err != nil {
		return proc{}, fmt.Errorf("set directory: %w", err)
	}
	logPath := filepath.Join(dir, fmt.Sprintf("instance-%d.log", index))
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return proc{}, fmt.Errorf("instance log: %w", err)
	}
	defer logFile.Close() // the child has its own copy

	env := r.instanceEnv(img, spec, port, index)
	cmd, err := startBusyRetried(ctx, index, func() *exec.Cmd {
		cmd := exec.Command(prog, argv[1:]...)
		cmd.Args[0] = argv[0]
		cmd.Dir, cmd.Env = workdir, env
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: r.cred}
		return cmd
	})
	if err != nil {
		return proc{}, err
	}
	pid := cmd.Process.Pid
	// The reaper waits for the child by its pid from now on.
	_ = cmd.Process.Release()
	r.track(child{pid: pid, set: spec.ID, index: index})
	r.log.Info("instance started", "set", spec.ID, "service", spec.Service, "release", spec.Release,
		"instance", index, "pid", pid, "host", r.bind, "port", port, "log", logPath)
	// A child that already exited has no start time: its record matches no
	// process, and the next Ensure starts the instance again.
	started, _ := procStart(pid)
	rec := record{PID: pid, UID: r.runAs, Started: started, Exe: exe, Rootfs: img.rootfs, Port: port}
	if err := writeRecord(dir, index, rec); err != nil {
		// Unrecorded, the instance would never be adopted: stop it now.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return proc{}, err
	}
	return proc{pid: pid, started: started, uid: r.runAs, set: spec.ID, service: spec.Service, release: spec.Release, index: index, host: r.bind, port: port}, nil
}

// instanceEnv is an instance's environment: the image's, the service's,
// then Durable's markers and PORT, last so that they win over an image's own
// variables of the same name.
func (r *Runtime) instanceEnv(img unpacked, spec adapters.InfraSetSpec, port, index int) []string {
	env := slices.Clone(img.config.Env)
	for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
		env = append(env, k+"="+spec.Env[k])
	}
	return append(env,
		envPort+"="+strconv.Itoa(port),
		envHost+"="+r.bind.String(),
		envRoot+"="+r.root,
		envSet+"="+spec.ID,
		envService+"="+spec.Service,
		envRelease+"="+spec.Release,
		envInstance+"="+strconv.Itoa(index),
	)
}

// startBusyRetried starts the command newCmd makes, again while the kernel
// says its program is busy. A program just unpacked can still be open for
// writing in a child that another goroutine forked meanwhile, until that
// child execs (golang.org/issue/22315): the kernel then refuses to run it for
// a moment.
func startBusyRetried(ctx context.Context, index int, newCmd func() *exec.Cmd) (*exec.Cmd, error) {
	for attempt := 1; ; attempt++ {
		cmd := newCmd()
		err := cmd.Start()
		if err == nil {
			return cmd, nil
		}
		if !errors.Is(err, syscall.ETXTBSY) || attempt == 5 {
			return nil, fmt.Errorf("start instance %d: %w", index, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("start instance %d: %w", index, ctx.Err())
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
}

// inImage resolves a path of the image to the file on disk, refusing one
// that is missing or that leaves the image's files, even through symlinks.
func inImage(rootfs, p string) (string, error) {
	if !path.IsAbs(p) {
		return "", fmt.Errorf("%q is not an absolute path in the image: %w", p, adapters.ErrInvalid)
	}
	realRoot, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return "", fmt.Errorf("image files: %w", err)
	}
	resolved, err := filepath.EvalSymlinks(filepath.Join(realRoot, filepath.FromSlash(path.Clean(p))))
	if err != nil {
		return "", fmt.Errorf("%q is not in the image: %w", p, adapters.ErrInvalid)
	}
	if resolved != realRoot && !strings.HasPrefix(resolved, realRoot+string(filepath.Separator)) {
		return "", fmt.Errorf("%q leaves the image: %w", p, adapters.ErrInvalid)
	}
	return resolved, nil
}

// freePort asks the kernel for a free port on addr. It is free when asked;
// the instance binds it a moment later.
func freePort(addr netip.Addr) (int, error) {
	l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
