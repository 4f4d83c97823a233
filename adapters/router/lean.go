package router

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"time"
)

// leanTransport sends the requests that are most of the traffic — GET, HEAD
// and OPTIONS without a body, an upgrade or an Expect — over HTTP/1.1
// connections it keeps itself, each used by one request at a time from the
// handler's own goroutine. http.Transport runs a reader and a writer
// goroutine per connection and hands every request and answer between them
// over channels: two goroutine switches and a select more per request.
// Every other request goes to std, unchanged.
//
// What reaches the instance and what comes back is what http.Transport
// sends and returns (TestLeanTransportAgreesWithStandard generates the
// cases): the same request bytes (Request.Write), the answer read by
// http.ReadResponse, 1xx answers passed to the request's httptrace, a
// request sent once more on a fresh connection when a kept one turns out
// closed before any byte of the answer, a connection kept only once its
// answer was read to the end.
type leanTransport struct {
	std  http.RoundTripper
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// maxIdle bounds the connections kept per instance; idleTimeout closes
	// one unused that long.
	maxIdle     int
	idleTimeout time.Duration
	// maxHeaderBytes bounds an answer's header, as http.Transport's
	// MaxResponseHeaderBytes.
	maxHeaderBytes int64

	mu    sync.Mutex
	idle  map[string][]*leanConn // instance → idle connections, newest last
	sweep *time.Timer            // armed while any connection is idle
}

// leanConn is one connection to an instance.
type leanConn struct {
	net.Conn
	addr string
	br   *bufio.Reader
	bw   *bufio.Writer
	// limit is how many more bytes may be read: an answer's header is
	// bounded, its body is not.
	limit     int64
	idleSince time.Time
}

// Read reads through the header bound.
func (c *leanConn) Read(p []byte) (int, error) {
	if c.limit <= 0 {
		return 0, errors.New("net/http: server response headers exceeded the limit")
	}
	if int64(len(p)) > c.limit {
		p = p[:c.limit]
	}
	n, err := c.Conn.Read(p)
	c.limit -= int64(n)
	return n, err
}

const noLimit = 1<<63 - 1

// lean reports whether req takes the lean path.
func lean(req *http.Request) bool {
	return (req.Body == nil || req.Body == http.NoBody) && req.ContentLength == 0 && idempotent(req.Method) &&
		req.Header.Get("Upgrade") == "" && req.Header.Get("Expect") == "" && req.URL.Scheme == "http"
}

func (t *leanTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !lean(req) {
		return t.std.RoundTrip(req)
	}
	for {
		c, reused, err := t.conn(req.Context(), req.URL.Host)
		if err != nil {
			return nil, err
		}
		resp, answered, err := t.exchange(c, req)
		if err == nil {
			return resp, nil
		}
		c.Close()
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		// A kept connection the instance closed while it was idle: the
		// request never reached it (http.Transport does the same).
		if !reused || answered {
			return nil, err
		}
	}
}

// exchange sends req on c and reads the answer's header; answered reports
// whether any byte of an answer came back. The connection goes back to the
// pool once the answer's body is read to its end.
func (t *leanTransport) exchange(c *leanConn, req *http.Request) (resp *http.Response, answered bool, err error) {
	stop := context.AfterFunc(req.Context(), func() { c.SetDeadline(aLongTimeAgo) })
	if err := req.Write(c.bw); err != nil {
		stop()
		return nil, false, err
	}
	if err := c.bw.Flush(); err != nil {
		stop()
		return nil, false, err
	}
	c.limit = t.maxHeaderBytes
	if _, err := c.br.Peek(1); err != nil {
		stop()
		return nil, false, err
	}
	resp, err = t.readResponse(c, req)
	if err != nil {
		stop()
		return nil, true, err
	}
	c.limit = noLimit
	if resp.StatusCode == http.StatusSwitchingProtocols {
		stop()
		return nil, true, fmt.Errorf("instance %s switched protocols (101) on a request that asked for no upgrade", c.addr)
	}
	body := &leanBody{ReadCloser: resp.Body, t: t, c: c, stop: stop, keep: !resp.Close && !req.Close}
	if resp.Body == http.NoBody {
		body.release(true)
		return resp, true, nil
	}
	resp.Body = body
	return resp, true, nil
}

// readResponse reads the answer, passing 1xx ones to the request's trace
// as http.Transport does.
func (t *leanTransport) readResponse(c *leanConn, req *http.Request) (*http.Response, error) {
	trace := httptrace.ContextClientTrace(req.Context())
	for {
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
		if trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
				return nil, err
			}
			c.limit = t.maxHeaderBytes
		}
	}
}

var aLongTimeAgo = time.Unix(1, 0)

// leanBody is an answer's body; read to its end, it gives its connection
// back to the pool, closed before, it closes it.
type leanBody struct {
	io.ReadCloser
	t        *leanTransport
	c        *leanConn
	stop     func() bool
	keep     bool
	released bool
}

func (b *leanBody) Read(p []byte) (int, error) {
	if b.released {
		return 0, io.EOF
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.release(err == io.EOF)
	}
	return n, err
}

func (b *leanBody) Close() error {
	b.release(false)
	return nil
}

// release ends the exchange: the connection is kept when the answer was
// read to its end, the instance did not ask to close, and the request's
// cancellation did not touch it.
func (b *leanBody) release(atEOF bool) {
	if b.released {
		return
	}
	b.released = true
	if b.stop() && atEOF && b.keep {
		b.t.put(b.c)
		return
	}
	b.c.Close()
}

// conn returns a kept connection to addr, or dials one.
func (t *leanTransport) conn(ctx context.Context, addr string) (*leanConn, bool, error) {
	t.mu.Lock()
	conns := t.idle[addr]
	for len(conns) > 0 {
		c := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		conns = conns[:len(conns)-1]
		if time.Since(c.idleSince) < t.idleTimeout {
			t.idle[addr] = conns
			t.mu.Unlock()
			return c, true, nil
		}
		c.Close()
	}
	delete(t.idle, addr)
	t.mu.Unlock()
	nc, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	c := &leanConn{Conn: nc, addr: addr, limit: noLimit}
	c.br = bufio.NewReader(c)
	c.bw = bufio.NewWriter(nc)
	return c, false, nil
}

// put keeps c for the next request to its instance, unless maxIdle are
// kept already.
func (t *leanTransport) put(c *leanConn) {
	c.idleSince = time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.idle == nil {
		t.idle = map[string][]*leanConn{}
	}
	if len(t.idle[c.addr]) >= t.maxIdle {
		c.Close()
		return
	}
	t.idle[c.addr] = append(t.idle[c.addr], c)
	if t.sweep == nil {
		t.sweep = time.AfterFunc(t.idleTimeout, t.closeIdle)
	}
}

// closeIdle closes the connections idle for idleTimeout, and comes back
// while any is left.
func (t *leanTransport) closeIdle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for addr, conns := range t.idle {
		kept := conns[:0]
		for _, c := range conns {
			if time.Since(c.idleSince) >= t.idleTimeout {
				c.Close()
			} else {
				kept = append(kept, c)
			}
		}
		clear(conns[len(kept):])
		if len(kept) == 0 {
			delete(t.idle, addr)
		} else {
			t.idle[addr] = kept
		}
	}
	t.sweep = nil
	if len(t.idle) > 0 {
		t.sweep = time.AfterFunc(t.idleTimeout/2, t.closeIdle)
	}
}
