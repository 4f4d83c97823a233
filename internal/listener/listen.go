package listener

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
)

// Config says where and how an API listens; its fields are the flags of
// the same names (--listen or --admin, --socket-group, --tls-cert,
// --tls-key, --client-ca).
type Config struct {
	// Flag names the address flag in messages ("--listen", "--admin").
	Flag string
	// Address is HOST:PORT or unix:///ABSOLUTE/PATH.
	Address     string
	SocketGroup string
	TLSCert     string
	TLSKey      string
	ClientCA    string
	// TLSMinVersion is the lowest TLS version accepted; zero is TLS 1.2.
	// The agent, whose only clients are reconcilers, asks TLS 1.3.
	TLSMinVersion uint16
}

// Kind is what a listener is, which decides what a caller must present.
type Kind int

const (
	// Unix is a Unix socket: its mode and group are the credential.
	Unix Kind = iota + 1
	// Loopback is plain TCP on a loopback address: any local user reaches it.
	Loopback
	// TLS is TCP with TLS, on any address.
	TLS
)

func (k Kind) String() string {
	switch k {
	case Unix:
		return "unix"
	case Loopback:
		return "loopback"
	case TLS:
		return "tls"
	}
	return "unknown"
}

// Listener is a bound API listener and what it is.
type Listener struct {
	net.Listener
	Kind Kind
}

// URL is how a client reaches l: unix:///PATH, http://HOST:PORT or
// https://HOST:PORT.
func (l *Listener) URL() string {
	switch l.Kind {
	case Unix:
		return "unix://" + l.Addr().String()
	case TLS:
		return "https://" + l.Addr().String()
	}
	return "http://" + l.Addr().String()
}

// maxAddress bounds an address flag: a Unix socket path is at most 107
// bytes and a HOST:PORT far less than this.
const maxAddress = 512

// Listen binds c.Address. A non-loopback TCP address without TLS is refused
// before it is bound, with the flags that fix it.
func Listen(c Config) (*Listener, error) {
	if c.Flag == "" {
		c.Flag = "--listen"
	}
	if len(c.Address) > maxAddress || strings.ContainsAny(c.Address, "\x00\n") {
		return nil, fmt.Errorf("%s: address of %d bytes is not HOST:PORT or unix:///PATH", c.Flag, len(c.Address))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return nil, fmt.Errorf("%s %s: give --tls-cert and --tls-key together", c.Flag, c.Address)
	}
	if c.ClientCA != "" && c.TLSCert == "" {
		return nil, fmt.Errorf("%s %s: --client-ca needs --tls-cert and --tls-key: mutual TLS is TLS first", c.Flag, c.Address)
	}
	if path, ok := strings.CutPrefix(c.Address, "unix://"); ok {
		if c.TLSCert != "" {
			return nil, fmt.Errorf("%s %s: TLS is for a TCP address; a Unix socket is protected by its mode and --socket-group", c.Flag, c.Address)
		}
		l, err := listenUnix(c.Flag, path, c.SocketGroup)
		if err != nil {
			return nil, err
		}
		return &Listener{Listener: l, Kind: Unix}, nil
	}
	if c.SocketGroup != "" {
		return nil, fmt.Errorf("%s %s: --socket-group is for a Unix socket (unix:///PATH)", c.Flag, c.Address)
	}
	return listenTCP(c)
}

func listenTCP(c Config) (*Listener, error) {
	host, _, err := net.SplitHostPort(c.Address)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not HOST:PORT or unix:///PATH: use e.g. 127.0.0.1:7070 or unix:///run/durable/api.sock", c.Flag, c.Address)
	}
	var tlsConfig *tls.Config
	if c.TLSCert != "" {
		if tlsConfig, err = serverTLS(c); err != nil {
			return nil, err
		}
	}
	public := fmt.Errorf("%s %s is not a loopback address and has no TLS: any host that reaches it could call the API in clear text; "+
		"give --tls-cert and --tls-key (and --token-file, --client-ca), or listen on 127.0.0.1:PORT or unix:///PATH", c.Flag, c.Address)
	// Refuse what is plainly public before binding it even for a moment.
	if ip := net.ParseIP(host); tlsConfig == nil && (host == "" || ip != nil && !ip.IsLoopback()) {
		return nil, public
	}
	l, err := net.Listen("tcp", c.Address)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", c.Flag, c.Address, err)
	}
	if tlsConfig != nil {
		return &Listener{Listener: tls.NewListener(l, tlsConfig), Kind: TLS}, nil
	}
	// A host name is judged by what it resolved to.
	if tcp, ok := l.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		l.Close()
		return nil, public
	}
	return &Listener{Listener: l, Kind: Loopback}, nil
}
