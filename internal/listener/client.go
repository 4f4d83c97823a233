package listener

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// ClientConfig says how to call an API; its fields are the client flags
// --api (or the router's admin address), --token-file, --tls-ca,
// --tls-cert and --tls-key.
type ClientConfig struct {
	// Address is unix:///PATH, HOST:PORT, http://HOST:PORT or
	// https://HOST:PORT; HOST:PORT speaks TLS when CA is given.
	Address   string
	TokenFile string
	// CA verifies the server's certificate (the system's roots when empty).
	CA string
	// Cert and Key are the client's certificate for mutual TLS.
	Cert, Key string
	// Timeout bounds one call; DefaultTimeout when zero.
	Timeout time.Duration
}

// DefaultTimeout bounds one call of a client, from the connection to the
// end of the body: an API that accepts and never answers fails the call
// then, whatever deadline the caller gave.
const DefaultTimeout = 10 * time.Second

// Client reaches one API: a path is appended to Base, and Token, when not
// empty, is sent as a bearer token.
type Client struct {
	// Address is the address the client was given, for messages.
	Address string
	Base    string
	HTTP    *http.Client
	Token   string
}

// NewClient builds the client c describes, reading its token file.
func NewClient(c ClientConfig) (*Client, error) {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if len(c.Address) > maxAddress || strings.ContainsAny(c.Address, "\x00\n ") {
		return nil, fmt.Errorf("API address of %d bytes is not HOST:PORT, https://HOST:PORT or unix:///PATH", len(c.Address))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cl := &Client{Address: c.Address, HTTP: &http.Client{Timeout: c.Timeout, Transport: tr}}
	if path, ok := strings.CutPrefix(c.Address, "unix://"); ok {
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("API address %s: a socket path is absolute: unix:///PATH", c.Address)
		}
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		cl.Base = "http://unix"
	} else {
		hostPort, secure, err := splitScheme(c)
		if err != nil {
			return nil, err
		}
		cl.Base = "http://" + hostPort
		if secure {
			if tr.TLSClientConfig, err = clientTLS(c); err != nil {
				return nil, err
			}
			cl.Base = "https://" + hostPort
		}
	}
	if c.TokenFile != "" {
		t, err := LoadTokens(c.TokenFile)
		if err != nil {
			return nil, err
		}
		cl.Token = t.ClientToken()
	}
	return cl, nil
}

// Authorize adds the client's token to req.
func (c *Client) Authorize(req *http.Request) {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
}

func splitScheme(c ClientConfig) (hostPort string, secure bool, err error) {
	a := c.Address
	switch {
	case strings.HasPrefix(a, "https://"):
		a, secure = strings.TrimPrefix(a, "https://"), true
	case strings.HasPrefix(a, "http://"):
		a = strings.TrimPrefix(a, "http://")
		if c.CA != "" || c.Cert != "" {
			return "", false, fmt.Errorf("API address %s is http://: TLS flags (--tls-ca, --tls-cert) need https:// or HOST:PORT", c.Address)
		}
	default:
		secure = c.CA != "" || c.Cert != ""
	}
	a = strings.TrimRight(a, "/")
	if _, _, err := net.SplitHostPort(a); err != nil {
		return "", false, fmt.Errorf("API address %q is not HOST:PORT, https://HOST:PORT or unix:///PATH", c.Address)
	}
	return a, secure, nil
}

func clientTLS(c ClientConfig) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CA != "" {
		pool, err := certPool(c.CA, "--tls-ca")
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if (c.Cert == "") != (c.Key == "") {
		return nil, fmt.Errorf("give --tls-cert and --tls-key together: they are the client's certificate for mutual TLS")
	}
	if c.Cert != "" {
		certPEM, err := readPEM(c.Cert, "--tls-cert", "TLS certificate", "impersonate this client")
		if err != nil {
			return nil, err
		}
		keyPEM, err := readPEM(c.Key, "--tls-key", "TLS key", "impersonate this client")
		if err != nil {
			return nil, err
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %v", c.Cert, c.Key, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
