package router

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// retryTransport sends a request to an instance of its picked set and, when
// none can be reached, to the instances of the service's other sets with
// traffic. A request is sent again only when that is safe: the connection
// could not be made and no byte of the body was read (the request was never
// sent), or the method is idempotent and the request has no body (an
// instance that crashed before answering).
//
// A set counts a request in flight from the moment it is sent to the set
// until its answer is copied to the client, so that a set removed from the
// split drains before anyone stops it.
type retryTransport struct {
	base http.RoundTripper
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := exchangeOf(req)
	noBody := req.Body == nil || req.Body == http.NoBody
	var body *unsentBody
	if !noBody {
		body = &unsentBody{ReadCloser: req.Body}
	}
	var lastErr error
	for i := 0; ; i++ {
		set := ex.route.fallback(ex.picked, i)
		if set == nil {
			break
		}
		n := len(set.endpoints)
		if n == 0 {
			continue
		}
		first := set.firstEndpoint()
		for j := range n {
			resp, err := t.send(req, set, set.endpoints[(first+j)%n], body)
			if err == nil {
				ex.served = set
				return resp, nil
			}
			lastErr = err
			var op *net.OpError
			neverSent := errors.As(err, &op) && op.Op == "dial" && (body == nil || !body.read.Load())
			if req.Context().Err() != nil || !(neverSent || noBody && idempotent(req.Method)) {
				return nil, err
			}
		}
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("infra-set %s has no endpoint", ex.picked.id)
	}
	return nil, lastErr
}

// send makes one attempt at endpoint ep of set, counting it in flight on
// the set while it goes on. The attempt is a shallow copy of req with its
// own URL: the base transport only reads a request, so the attempts share
// the headers rather than each copying them.
func (t *retryTransport) send(req *http.Request, set *setRoute, ep string, body *unsentBody) (*http.Response, error) {
	attempt := *req
	u := *req.URL
	u.Host = ep
	attempt.URL = &u
	if body != nil {
		attempt.Body = body
	}
	set.counters.inFlight.Add(1)
	resp, err := t.base.RoundTrip(&attempt)
	if err != nil {
		set.counters.inFlight.Add(-1)
	}
	return resp, err
}

// unsentBody lets a request body be offered to several attempts: a failed
// attempt's Close leaves it open, and it records whether any attempt began
// reading it (after which it cannot be sent again). The server closes the
// real body when the request ends.
type unsentBody struct {
	io.ReadCloser
	read atomic.Bool
}

func (b *unsentBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.ReadCloser.Read(p)
}

func (b *unsentBody) Close() error { return nil }

func idempotent(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}
