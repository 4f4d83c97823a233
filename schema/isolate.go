package schema

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"testing/fstest"
	"time"
)

// Isolation runs an evaluation in a child process of its own, so that a
// hostile revision (a comprehension that never ends in practice, or one that
// fills memory) costs a bounded time and memory and is killed, instead of
// taking the reconciler with it.
type Isolation struct {
	// Command starts the child: a program that runs ServeIsolated, such as
	// durable schema serve-isolated.
	Command []string
	// Env is the child's environment; nil inherits the parent's.
	Env []string
	// Timeout bounds the evaluation, start-up included; zero means
	// EvaluationLimit.
	Timeout time.Duration
	// Memory bounds the child's address space, where the platform can
	// (Linux); zero means IsolatedMemory.
	Memory uint64
}

// EvaluationLimit is the default bound on one revision's evaluation.
const EvaluationLimit = 30 * time.Second

// IsolatedMemory is the default bound on the address space of an isolated
// evaluation. Go reserves address space generously: this is well above what
// the largest sane repositories need (about 1 GiB for 10,000 services).
const IsolatedMemory = 8 << 30

// isolatedResult is what the child writes: the desired state or its errors.
type isolatedResult struct {
	State  *DesiredState `json:"state,omitempty"`
	Errors Errors        `json:"errors,omitempty"`
	Fault  string        `json:"fault,omitempty"`
}

// Load evaluates fsys as Load does, in a child process bounded in time and
// memory. A child that runs over either bound is killed and reported as an
// Error saying which bound, so that the revision is rejected like any other
// invalid one.
func (iso Isolation) Load(ctx context.Context, fsys fs.FS) (*DesiredState, error) {
	c, err := iso.start()
	if err != nil {
		return nil, err
	}
	return c.load(ctx, fsys)
}

// child is a started child process, waiting for a tree on its stdin.
type child struct {
	iso    Isolation
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	stderr bytes.Buffer
}

// start starts a child: its runtime starts while it waits for a tree.
func (iso Isolation) start() (*child, error) {
	if len(iso.Command) == 0 {
		return nil, errors.New("schema: isolated load: no command")
	}
	c := &child{iso: iso, cmd: exec.Command(iso.Command[0], iso.Command[1:]...)}
	c.cmd.Env = append(iso.Env, fmt.Sprintf("%s=%d", memoryEnv, iso.memory()))
	if iso.Env == nil {
		c.cmd.Env = append(os.Environ(), c.cmd.Env...)
	}
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if c.stdout, err = c.cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	c.cmd.Stderr = &limitedBuffer{buf: &c.stderr, max: 64 << 10}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("schema: start the isolated evaluation %s: %w", iso.Command[0], err)
	}
	return c, nil
}

func (iso Isolation) memory() uint64 {
	if iso.Memory == 0 {
		return IsolatedMemory
	}
	return iso.Memory
}

// stop kills a child that was not given a tree, and waits for its end.
func (c *child) stop() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// load gives the child fsys and reads its result, killing it at the time
// limit, counted from now.
func (c *child) load(ctx context.Context, fsys fs.FS) (*DesiredState, error) {
	var in bytes.Buffer
	if err := writeTree(&in, fsys); err != nil {
		c.stop()
		return nil, err
	}
	limit := c.iso.Timeout
	if limit == 0 {
		limit = EvaluationLimit
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	stopKill := context.AfterFunc(ctx, func() { _ = c.cmd.Process.Kill() })
	defer stopKill()
	go func() {
		_, _ = io.Copy(c.stdin, &in)
		c.stdin.Close()
	}()
	// The result is decoded as it comes (decodeResult); what follows it is
	// read to its end, so that the child is never blocked writing.
	res, decodeErr := decodeResult(c.stdout)
	_, _ = io.Copy(io.Discard, c.stdout)
	err := c.cmd.Wait()
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return nil, Errors{{Message: fmt.Sprintf(
			"evaluating the desired state took longer than %s, the limit, and was stopped; look for a comprehension or a list.Range that grows too large", limit)}}
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil && memoryExhausted(c.stderr.String()):
		return nil, Errors{{Message: fmt.Sprintf(
			"evaluating the desired state needed more than %d MiB of memory, the limit, and was stopped; look for a comprehension or a list.Range that grows too large", c.iso.memory()>>20)}}
	case err != nil:
		return nil, fmt.Errorf("schema: the isolated evaluation failed (%v): %s", err, lastLines(c.stderr.String(), 5))
	}
	if decodeErr != nil {
		return nil, fmt.Errorf("schema: read the isolated evaluation's result: %w", decodeErr)
	}
	return result(res, fsys)
}

// result is the desired state a child sent, or its errors.
func result(res isolatedResult, fsys fs.FS) (*DesiredState, error) {
	switch {
	case res.Fault != "":
		return nil, errors.New(res.Fault)
	case res.Errors != nil:
		return nil, res.Errors
	case res.State == nil:
		return nil, errors.New("schema: the isolated evaluation returned nothing")
	}
	// The encrypted files do not cross the pipe (they are not part of the
	// desired state's JSON): they are read here, from the same tree.
	read := func(file string) ([]byte, error) { return readSource(fsys, file) }
	if err := attachSopsFiles(res.State, read); err != nil {
		return nil, err
	}
	return res.State, nil
}

// memoryEnv passes the memory bound to the child, which sets it on itself
// before it reads the revision: set from outside, it could land while the
// child's runtime is still starting.
const memoryEnv = "DURABLE_EVALUATION_MEMORY"

// ServeIsolated is the child's side: it bounds its own memory as its parent
// asked, reads a tree as a tar stream from in, loads it, and writes the
// result as JSON to out.
func ServeIsolated(in io.Reader, out io.Writer) error {
	if v := os.Getenv(memoryEnv); v != "" {
		bytes, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("schema: %s=%q is not a byte count", memoryEnv, v)
		}
		if err := limitMemory(bytes); err != nil {
			return fmt.Errorf("schema: bound the evaluation's memory: %w", err)
		}
		// Collect harder as the bound nears, so that a revision that fits
		// is not failed for garbage it left.
		debug.SetMemoryLimit(int64(bytes / 4 * 3))
	}
	fsys, err := readTree(in)
	if err != nil {
		return err
	}
	var res isolatedResult
	ds, err := Load(fsys)
	var errs Errors
	switch {
	case errors.As(err, &errs):
		res.Errors = errs
	case err != nil:
		res.Fault = err.Error()
	default:
		res.State = ds
	}
	return json.NewEncoder(out).Encode(res)
}

// writeTree writes the regular files of fsys as a tar stream.
func writeTree(w io.Writer, fsys fs.FS) error {
	tw := tar.NewWriter(w)
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("schema: pack the tree for the isolated evaluation: %w", err)
	}
	return tw.Close()
}

// readTree reads a tar stream of regular files into memory, within the
// caps a whole repository's desired state has.
func readTree(r io.Reader) (fs.FS, error) {
	fsys := fstest.MapFS{}
	tr := tar.NewReader(r)
	total := int64(0)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return fsys, nil
		}
		if err != nil {
			return nil, fmt.Errorf("schema: read the tree: %w", err)
		}
		if h.Typeflag != tar.TypeReg || !fs.ValidPath(h.Name) {
			continue
		}
		total += h.Size
		if total > maxTreeBytes {
			return nil, fmt.Errorf("schema: the tree holds more than %d MiB", maxTreeBytes>>20)
		}
		data, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return nil, fmt.Errorf("schema: read %s: %w", h.Name, err)
		}
		fsys[h.Name] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
}

// maxTreeBytes bounds the tree an isolated evaluation accepts: the source
// has bounded it already, this keeps the child honest on its own.
const maxTreeBytes = 1 << 30

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// memoryExhausted reports whether a child's dying words say it ran out of
// its address space. The Go runtime usually says so ("out of memory",
// "cannot allocate memory"), but a failed mapping can also make its garbage
// collector fault (a SIGSEGV in goroutine 0, the runtime's own, seen with
// Go 1.26 under RLIMIT_AS in about one run in ten): the evaluation itself is
// Go and cannot fault, so that too is the memory bound.
func memoryExhausted(stderr string) bool {
	if strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "cannot allocate memory") {
		return true
	}
	if !strings.HasPrefix(stderr, "SIGSEGV:") {
		return false
	}
	_, stack, _ := strings.Cut(stderr, "\ngoroutine 0 ")
	_, frames, _ := strings.Cut(stack, "\n")
	return strings.HasPrefix(frames, "runtime.")
}

// lastLines is the last n lines of s, trimmed.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
