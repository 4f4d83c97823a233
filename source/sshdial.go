package source

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/net/proxy"
)

// go-git's SSH transport dials and shakes hands without a context: a remote
// that accepts and never answers held a fetch, and the loop's polls behind
// it, forever (the fetch's context is only read once the session runs).
// go-git lets a fetch name a proxy, dialled through golang.org/x/net/proxy,
// so an SSH fetch names this one: a direct connection that its fetch's
// context closes (at fetchTimeout, or when the caller gives up), whatever
// stage the SSH session is at.
const fetchDialScheme = "durable-fetch"

var (
	registerFetchDialer sync.Once
	fetchContexts       sync.Map // id → context.Context of a fetch under way
	fetchIDs            atomic.Uint64
)

// boundedSSH is the proxy option that closes an SSH fetch's connection when
// ctx ends; done forgets ctx once the fetch returned.
func boundedSSH(ctx context.Context) (opts transport.ProxyOptions, done func()) {
	registerFetchDialer.Do(func() { proxy.RegisterDialerType(fetchDialScheme, newFetchDialer) })
	id := strconv.FormatUint(fetchIDs.Add(1), 10)
	fetchContexts.Store(id, ctx)
	return transport.ProxyOptions{URL: fetchDialScheme + "://" + id}, func() { fetchContexts.Delete(id) }
}

// fetchDialer dials directly, and closes the connection when its fetch's
// context ends.
type fetchDialer struct{ ctx context.Context }

func newFetchDialer(u *url.URL, _ proxy.Dialer) (proxy.Dialer, error) {
	ctx, ok := fetchContexts.Load(u.Host)
	if !ok {
		return nil, fmt.Errorf("ssh fetch %s: no fetch under way", u.Host)
	}
	return fetchDialer{ctx.(context.Context)}, nil
}

func (d fetchDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

func (d fetchDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	// ctx is go-git's own; the fetch's ends the dial too.
	dialCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(d.ctx, cancel)()
	var dialer net.Dialer
	conn, err := dialer.DialContext(dialCtx, network, addr)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(d.ctx, func() { conn.Close() })
	return conn, nil
}
