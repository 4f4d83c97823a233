package exec

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is one running long-lived plug-in and the goroutines that read
// it: its lines, its standard error, its exit. stop ends all of them.
type process struct {
	cmd    *exec.Cmd
	stdin  *os.File // write end
	stdout *os.File // read end
	stderr *os.File // read end
	tail   stderrTail

	lines      chan lineRead // each line of standard output, then the error that ended them
	quit       chan struct{} // closed by stop: the line reader stops waiting for a taker
	exited     chan struct{} // closed once the process is reaped; waitErr is then set
	stderrDone chan struct{} // closed once standard error is read to its end
	waitErr    error
	workers    sync.WaitGroup
}

// lineRead is one line of standard output, or why there is none.
type lineRead struct {
	data []byte
	err  error
}

// errLineTooLong is a line longer than MaxOutput.
var errLineTooLong = fmt.Errorf("printed a line longer than %d bytes", MaxOutput)

// startProcess starts command in a process group of its own, with three
// pipes. Each is an *os.File, so that os/exec copies nothing and Wait
// returns as soon as the process exits.
func startProcess(command []string) (*process, error) {
	var ends []*os.File // every pipe end, closed on failure
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		ends = append(ends, r, w)
		return r, w, err
	}
	inR, inW, err1 := pipe()
	outR, outW, err2 := pipe()
	errR, errW, err3 := pipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		closeAll(ends)
		return nil, err
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		closeAll(ends)
		return nil, err
	}
	closeAll([]*os.File{inR, outW, errW}) // the child's ends
	p := &process{cmd: cmd, stdin: inW, stdout: outR, stderr: errR, lines: make(chan lineRead),
		quit: make(chan struct{}), exited: make(chan struct{}), stderrDone: make(chan struct{})}
	p.workers.Add(3)
	go p.readLines()
	go p.readStderr()
	go p.wait()
	return p, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			_ = f.Close()
		}
	}
}

func (p *process) readLines() {
	defer p.workers.Done()
	br := bufio.NewReaderSize(p.stdout, 64<<10)
	for {
		data, err := readLine(br)
		select {
		case p.lines <- lineRead{data, err}:
		case <-p.quit:
			return
		}
		if err != nil {
			return
		}
	}
}

// readLine reads up to a newline, at most MaxOutput bytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > MaxOutput {
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return line, err
	}
}

func (p *process) readStderr() {
	defer p.workers.Done()
	defer close(p.stderrDone)
	_, _ = io.Copy(&p.tail, p.stderr)
}

func (p *process) wait() {
	defer p.workers.Done()
	p.waitErr = p.cmd.Wait()
	close(p.exited)
}

// running reports whether the process has not exited yet.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill kills the process and whatever it started in its group.
func (p *process) kill() {
	if p.running() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// stop gives the process grace to exit on the end of its standard input,
// then kills its group, and returns once every goroutine reading it has
// returned. Its standard error is read to the end first (or for a second,
// when a process that left the group still holds it), for the error.
func (p *process) stop(grace time.Duration) {
	_ = p.stdin.Close()
	if grace > 0 {
		select {
		case <-p.exited:
		case <-time.After(grace):
		}
	}
	// The group outlives its leader while a child of the plug-in runs.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
	close(p.quit)
	select {
	case <-p.stderrDone:
	case <-time.After(time.Second):
	}
	_ = p.stdout.Close()
	_ = p.stderr.Close()
	p.workers.Wait()
}
