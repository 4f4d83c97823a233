package router

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// step is what the scripted instance does with one request it reads.
type step struct {
	status  int
	framing string // "length", "chunked", "trailer" (chunked with a trailer), "eof" (until the close)
	body    string
	early   bool   // a 103 Early Hints first
	closeIt bool   // "Connection: close" in the answer
	fault   string // "", "crash" (close, no answer), "truncate" (half the body, then close), "garbage", "stale" (answer, then close without saying so)
}

// scriptedInstance is a real TCP server that answers each request it reads
// with the next step of its script, and records every request's bytes.
type scriptedInstance struct {
	ln       net.Listener
	mu       sync.Mutex
	script   []step
	next     int
	received []string
}

func newScriptedInstance(t *testing.T, script []step) *scriptedInstance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptedInstance{ln: ln, script: script}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *scriptedInstance) serve(c net.Conn) {
	defer c.Close()
	var raw bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &raw))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.received = append(s.received, raw.String())
		raw.Reset()
		st := step{status: 200, framing: "length", body: "spare"}
		if s.next < len(s.script) {
			st = s.script[s.next]
		}
		s.next++
		s.mu.Unlock()
		if !writeStep(c, st, req.Method == http.MethodHead) {
			return
		}
	}
}

// writeStep answers one request; it reports whether the connection stays.
func writeStep(c net.Conn, st step, head bool) bool {
	switch st.fault {
	case "crash":
		return false
	case "garbage":
		io.WriteString(c, "NOT HTTP AT ALL\r\n\r\n")
		return false
	}
	var b strings.Builder
	if st.early {
		b.WriteString("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
	}
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nX-Step: %s\r\n", st.status, http.StatusText(st.status), st.framing)
	if st.closeIt {
		b.WriteString("Connection: close\r\n")
	}
	noBody := head || st.status == 204 || st.status == 304
	body := st.body
	switch st.framing {
	case "length":
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
		if st.fault == "truncate" {
			body = body[:len(body)/2]
		}
		if !noBody {
			b.WriteString(body)
		}
	case "chunked", "trailer":
		b.WriteString("Transfer-Encoding: chunked\r\n")
		if st.framing == "trailer" {
			b.WriteString("Trailer: X-Sum\r\n")
		}
		b.WriteString("\r\n")
		if !noBody {
			if body != "" {
				fmt.Fprintf(&b, "%x\r\n%s\r\n", len(body), body)
			}
			if st.fault == "truncate" {
				break
			}
			b.WriteString("0\r\n")
			if st.framing == "trailer" {
				fmt.Fprintf(&b, "X-Sum: %d\r\n", len(body))
			}
			b.WriteString("\r\n")
		}
	case "eof":
		b.WriteString("\r\n")
		if !noBody {
			b.WriteString(body)
		}
		io.WriteString(c, b.String())
		return false
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		return false
	}
	return !st.closeIt && st.fault == "" && (st.framing != "eof" || noBody)
}

// outcome is what a transport's caller sees of one request.
type outcome struct {
	Err     bool
	Status  int
	Header  http.Header
	Body    string
	BodyErr bool
	Trailer http.Header
	Early   []int // the 1xx codes the request's trace was given
}

// roundTrip sends r to addr and reads the answer: the whole body, or its
// first 16 bytes when r.readSome.
func roundTrip(rt http.RoundTripper, addr string, r request) outcome {
	var out outcome
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		out.Early = append(out.Early, code)
		return nil
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), r.method, "http://"+addr+r.target, nil)
	if err != nil {
		panic(err)
	}
	req.Header = r.header.Clone()
	req.Close = r.closeIt
	resp, err := rt.RoundTrip(req)
	if err != nil {
		out.Err = true
		return out
	}
	var body io.Reader = resp.Body
	if r.readSome {
		body = io.LimitReader(resp.Body, 16)
	}
	b, err := io.ReadAll(body)
	resp.Body.Close()
	out.Status, out.Header, out.Body, out.BodyErr, out.Trailer = resp.StatusCode, resp.Header, string(b), err != nil, resp.Trailer
	return out
}

// TestLeanTransportAgreesWithStandard generates scripts of answers — status
// codes with and without a body, every framing, 1xx first, Connection:
// close, and faults: an instance that crashes before answering, cuts the
// body short, answers garbage or closes a kept connection — and requests
// (GET, HEAD, OPTIONS, with headers, some asking to close) sent one after
// another, some closing the answer's body early, and checks that leanTransport and http.Transport give the same
// outcomes and that the instance reads the same bytes from both. The seeds
// are fixed, so a failure replays.
func TestLeanTransportAgreesWithStandard(t *testing.T) {
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 7))
		script := randomScript(rng)
		reqs := randomRequests(rng, len(script))
		std := &http.Transport{DisableCompression: true, MaxResponseHeaderBytes: maxResponseHeaderBytes}
		lt := &leanTransport{std: http.DefaultTransport, dial: (&net.Dialer{}).DialContext, maxIdle: 4, idleTimeout: time.Minute,
			maxHeaderBytes: maxResponseHeaderBytes}
		var got [2][]outcome
		var received [2][]string
		for i, rt := range []http.RoundTripper{std, lt} {
			inst := newScriptedInstance(t, script)
			for _, r := range reqs {
				got[i] = append(got[i], roundTrip(rt, inst.ln.Addr().String(), r))
			}
			inst.mu.Lock()
			for _, raw := range inst.received {
				received[i] = append(received[i], strings.ReplaceAll(raw, inst.ln.Addr().String(), "INSTANCE"))
			}
			inst.mu.Unlock()
		}
		std.CloseIdleConnections()
		if !reflect.DeepEqual(got[0], got[1]) {
			t.Errorf("seed %d: script %+v, requests %+v:\nhttp.Transport: %+v\nleanTransport:  %+v", seed, script, reqs, got[0], got[1])
		}
		if !reflect.DeepEqual(received[0], received[1]) {
			t.Errorf("seed %d: the instance read\nfrom http.Transport: %q\nfrom leanTransport:  %q", seed, received[0], received[1])
		}
	}
}

func randomScript(rng *rand.Rand) []step {
	statuses := []int{200, 201, 204, 304, 404, 500, 503}
	framings := []string{"length", "chunked", "trailer", "eof"}
	faults := []string{"", "", "", "", "crash", "truncate", "garbage", "stale"}
	script := make([]step, 2+rng.IntN(5))
	for i := range script {
		script[i] = step{
			status:  statuses[rng.IntN(len(statuses))],
			framing: framings[rng.IntN(len(framings))],
			body:    strings.Repeat("x", rng.IntN(3)*rng.IntN(3000)),
			early:   rng.IntN(5) == 0,
			closeIt: rng.IntN(6) == 0,
			fault:   faults[rng.IntN(len(faults))],
		}
		if script[i].fault == "stale" {
			script[i].framing, script[i].closeIt = "length", false
		}
	}
	return script
}

type request struct {
	method, target string
	header         http.Header
	closeIt        bool
	readSome       bool // the caller closes the body after 16 bytes
}

func randomRequests(rng *rand.Rand, n int) []request {
	methods := []string{http.MethodGet, http.MethodGet, http.MethodHead, http.MethodOptions}
	out := make([]request, n)
	for i := range out {
		h := http.Header{"User-Agent": {""}, "X-Request": {fmt.Sprint(rng.IntN(1000))}}
		if rng.IntN(3) == 0 {
			h["Accept"] = []string{"text/html", "application/json"}
		}
		out[i] = request{method: methods[rng.IntN(len(methods))], target: fmt.Sprintf("/p%d?q=%d", i, rng.IntN(100)),
			header: h, closeIt: rng.IntN(8) == 0, readSome: rng.IntN(5) == 0}
	}
	return out
}
