package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

const (
	// helloTimeout bounds the handshake (or the call's timeout when
	// shorter), so that a one-shot program, which waits for the end of
	// its standard input, fails fast.
	helloTimeout = 5 * time.Second
	// closeGrace is how long Close lets the plug-in exit on the end of its
	// standard input before killing it.
	closeGrace = time.Second
	// firstBackoff and maxBackoff space restarts after the second failure
	// in a row; the first restart is at once.
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = 30 * time.Second
)

// longLived keeps one process of the plug-in, started on first use, and
// sends it one call at a time as JSON lines. Any failure of the stream (a
// timeout, an exit, a line that is not the answer to the call) kills the
// process, so that the next call starts a fresh one in step.
type longLived struct {
	name    string // the host file's name, for errors
	command []string
	timeout time.Duration

	turn chan struct{} // holds one token while a call or Close runs

	// Held with turn:
	calls     uint64    // the last call number sent
	failures  int       // failures in a row, reset by a call that succeeds
	notBefore time.Time // no start before, after failures in a row
	lastErr   error     // the last failure, for calls refused before notBefore

	mu     sync.Mutex // guards proc and closed, which Close reads without turn
	proc   *process
	closed bool
}

func newLongLived(name string, command []string, timeout time.Duration) *longLived {
	return &longLived{name: name, command: command, timeout: timeout, turn: make(chan struct{}, 1)}
}

// lineRequest is one line on the plug-in's standard input.
type lineRequest struct {
	Call uint64 `json:"call"`
	request
}

// lineResponse is one line on its standard output.
type lineResponse struct {
	Call *uint64 `json:"call"`
	response
}

var (
	// errExited is the end of the plug-in's standard output.
	errExited = errors.New("exited")
	// errNotRead is a request the plug-in could not read: its standard
	// input has no reader any more, as when it exited.
	errNotRead = errors.New("closed its standard input (or exited) before reading the request")
	// errTimeout is the cause of a call's end when the plug-in's own
	// timeout ran out, told apart from the caller giving up.
	errTimeout = errors.New("the plug-in's timeout ran out")
	// errAbandoned is a call its caller gave up (its context cancelled or
	// past its deadline): the process is replaced, as the stream is no
	// longer in step, but that is no failure of the plug-in's and does not
	// count towards the restart backoff.
	errAbandoned = errors.New("the call was abandoned by its caller")
)

func (l *longLived) call(ctx context.Context, req request, out any) error {
	where := fmt.Sprintf("exec plug-in %s %s", l.name, req.Op)
	// The timeout covers the wait for the turn, so that calls queued
	// behind a hung one end too.
	ctx, cancel := context.WithTimeoutCause(ctx, l.timeout, errTimeout)
	defer cancel()
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%s: still waiting for the plug-in's previous call (calls to one plug-in run one at a time): %v: %w", where, ctx.Err(), adapters.ErrUnavailable)
	}
	defer func() { <-l.turn }()
	resp, err := l.send(ctx, req)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", where, err, adapters.ErrUnavailable)
	}
	l.failures = 0
	return resp.into(where, out)
}

// send delivers req to a running process and reads its answer. A request
// the process could not read because it had already exited is sent once
// more to a new one: it never saw it.
func (l *longLived) send(ctx context.Context, req request) (response, error) {
	for attempt := 0; ; attempt++ {
		p, err := l.running(ctx)
		if err != nil {
			return response{}, err
		}
		resp, err := l.exchange(ctx, p, req)
		if err == nil {
			return resp, nil
		}
		err = l.retire(p, err)
		if !errors.Is(err, errNotRead) || attempt > 0 {
			return response{}, err
		}
	}
}

// running returns the process, started (and greeted) when there is none.
func (l *longLived) running(ctx context.Context) (*process, error) {
	l.mu.Lock()
	p, closed := l.proc, l.closed
	l.mu.Unlock()
	switch {
	case closed:
		return nil, errors.New("the adapter is closed")
	case p != nil && p.running():
		return p, nil
	case p != nil:
		_ = l.retire(p, errExited) // died between calls
	}
	if wait := time.Until(l.notBefore); wait > 0 {
		return nil, fmt.Errorf("not restarted for another %s after %d failures in a row; the last: %v", wait.Round(time.Millisecond), l.failures, l.lastErr)
	}
	p, err := startProcess(l.command)
	if err != nil {
		l.failed(err)
		return nil, fmt.Errorf("cannot start %s: %v; fix plugins.%s.command in the host file", l.command[0], err, l.name)
	}
	l.mu.Lock()
	l.proc = p
	l.mu.Unlock()
	if err := l.hello(ctx, p); err != nil {
		err = l.retire(p, err)
		if errors.Is(err, errAbandoned) {
			return nil, fmt.Errorf("during the long-lived handshake: %w", err)
		}
		return nil, fmt.Errorf("did not complete the long-lived handshake: %v; if the program speaks only the one-shot form, remove longLived from plugins.%s in the host file, or make it answer the line {\"call\": N, \"version\": 1, \"op\": \"hello\"} with {\"call\": N, \"result\": {\"version\": 1}} (docs/adapters.md, \"The long-lived form\")", err, l.name)
	}
	return p, nil
}

// hello is the handshake: the plug-in says which version it speaks.
func (l *longLived) hello(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, min(helloTimeout, l.timeout))
	defer cancel()
	resp, err := l.exchange(ctx, p, request{Op: "hello"})
	if err != nil {
		return err
	}
	var hello struct {
		Version int `json:"version"`
	}
	if err := resp.into("hello", &hello); err != nil {
		return err
	}
	if hello.Version != ProtocolVersion {
		return fmt.Errorf("it speaks version %d, Durable %d", hello.Version, ProtocolVersion)
	}
	return nil
}

// exchange writes one request line and reads the answer to it.
func (l *longLived) exchange(ctx context.Context, p *process, req request) (response, error) {
	l.calls++
	req.Version = ProtocolVersion
	line, err := json.Marshal(lineRequest{Call: l.calls, request: req})
	if err != nil {
		return response{}, err
	}
	deadline, _ := ctx.Deadline()
	_ = p.stdin.SetWriteDeadline(deadline)
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The write's deadline is ctx's, which ends at once: the
			// caller's, when it gave up first, or the plug-in's timeout.
			<-ctx.Done()
			if !errors.Is(context.Cause(ctx), errTimeout) {
				return response{}, fmt.Errorf("%w: %w", errAbandoned, ctx.Err())
			}
			return response{}, fmt.Errorf("did not read its request within %s", l.timeout)
		}
		if errors.Is(err, syscall.EPIPE) {
			return response{}, errNotRead
		}
		return response{}, fmt.Errorf("write the request: %w", err)
	}
	select {
	case r := <-p.lines:
		switch {
		case errors.Is(r.err, io.EOF):
			return response{}, errExited
		case r.err != nil:
			return response{}, r.err
		}
		return decodeLine(r.data, l.calls)
	case <-ctx.Done():
		if errors.Is(context.Cause(ctx), errTimeout) {
			return response{}, errors.New("no answer within its timeout")
		}
		return response{}, fmt.Errorf("%w: %w", errAbandoned, ctx.Err())
	}
}

// decodeLine decodes the answer to call n.
func decodeLine(line []byte, n uint64) (response, error) {
	var resp lineResponse
	err := decodeResponseLine(line, &resp)
	switch {
	case err != nil:
		return response{}, fmt.Errorf(`the line is not a response ({"call": N, "result": …} or {"call": N, "error": {"kind", "message"}}): %v`, err)
	case resp.Call == nil:
		return response{}, fmt.Errorf(`the response to call %d carries no "call"`, n)
	case *resp.Call != n:
		return response{}, fmt.Errorf("the response is to call %d, not to call %d", *resp.Call, n)
	}
	return resp.response, nil
}

// retire stops p after a failure, counts the failure (unless the caller
// abandoned the call: see errAbandoned) and returns it with
// what the plug-in said on its standard error.
func (l *longLived) retire(p *process, cause error) error {
	p.stop(0)
	l.mu.Lock()
	if l.proc == p {
		l.proc = nil
	}
	l.mu.Unlock()
	err := cause
	if errors.Is(cause, errExited) && p.waitErr != nil {
		err = fmt.Errorf("%w (%v)", cause, p.waitErr)
	}
	if tail := p.tail.String(); tail != "" {
		err = fmt.Errorf("%w; its standard error ends: %s", err, tail)
	}
	if !errors.Is(cause, errAbandoned) {
		l.failed(err)
	}
	return err
}

// failed counts a failure and spaces the next start: at once after the
// first, then after firstBackoff, doubling up to maxBackoff.
func (l *longLived) failed(err error) {
	l.failures++
	l.lastErr = err
	l.notBefore = time.Time{}
	if l.failures > 1 {
		l.notBefore = time.Now().Add(min(firstBackoff<<min(l.failures-2, 20), maxBackoff))
	}
}

// Close stops the process: it may exit on the end of its standard input
// within closeGrace, then it is killed. A call in flight is ended first.
func (l *longLived) Close() error {
	l.mu.Lock()
	l.closed = true
	busy := l.proc
	l.mu.Unlock()
	select {
	case l.turn <- struct{}{}:
	default:
		if busy != nil {
			busy.kill()
		}
		l.turn <- struct{}{}
	}
	defer func() { <-l.turn }()
	l.mu.Lock()
	p := l.proc
	l.proc = nil
	l.mu.Unlock()
	if p != nil {
		p.stop(closeGrace)
	}
	return nil
}
