package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/durable-delivery/durable/internal/listener"
	"github.com/durable-delivery/durable/server"
)

// addressFlag is the flag that names where an API listens: its name, its
// default and what it is.
type addressFlag struct{ name, def, usage string }

// addListenerFlags registers the flags every API of durable listens with
// (run's --listen, router's --admin, the agent's): one scheme, written in
// docs/operating.md, "Listeners, TLS and tokens".
func addListenerFlags(fs *pflag.FlagSet, addr addressFlag, c *listener.Config, tokenFile *string) {
	c.Flag = "--" + addr.name
	fs.StringVar(&c.Address, addr.name, addr.def, addr.usage+": HOST:PORT (loopback, or any address with --tls-cert and --tls-key) or unix:///PATH (mode 0660)")
	fs.StringVar(&c.SocketGroup, "socket-group", "", "group (name or gid) given the Unix socket, whose members may connect")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate of a TLS listener (needed for a non-loopback address)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM key of --tls-cert")
	fs.StringVar(&c.ClientCA, "client-ca", "", "PEM CA bundle a client certificate must chain to (mutual TLS)")
	fs.StringVar(tokenFile, "token-file", "", "file of the API's bearer tokens, one a line: \"read TOKEN\" or \"write TOKEN\" (mode 0600, owned by this user)")
}

// clientFlags are the flags of a command that calls the reconciler's API.
type clientFlags struct {
	cfg listener.ClientConfig
}

// defaultAPI is where `durable run` listens by default.
const defaultAPI = "127.0.0.1:7070"

func addClientFlags(fs *pflag.FlagSet, c *clientFlags) {
	fs.StringVar(&c.cfg.Address, "api", defaultAPI, "the reconciler's API: HOST:PORT, https://HOST:PORT or unix:///PATH")
	fs.StringVar(&c.cfg.TokenFile, "token-file", os.Getenv("DURABLE_TOKEN_FILE"), "file of the API's tokens (default $DURABLE_TOKEN_FILE, else .durable/api-tokens when --api is the default)")
	fs.StringVar(&c.cfg.CA, "tls-ca", "", "PEM CA bundle that verifies the API's certificate (https)")
	fs.StringVar(&c.cfg.Cert, "tls-cert", "", "PEM client certificate for mutual TLS")
	fs.StringVar(&c.cfg.Key, "tls-key", "", "PEM key of --tls-cert")
}

// client builds the API client; with the default address and no token
// file, it presents the token of the one `durable run` created in the
// default state directory when it can read it (reads need none on
// loopback, so a user who cannot read it still sees the status).
func (c *clientFlags) client() (*server.Client, error) {
	lc, err := listener.NewClient(c.cfg)
	if err != nil {
		return nil, usageError{err}
	}
	if c.cfg.TokenFile == "" && c.cfg.Address == defaultAPI {
		if t, err := listener.LoadTokens(filepath.Join(defaultStateDir, apiTokensFile)); err == nil {
			lc.Token = t.ClientToken()
		}
	}
	return &server.Client{Base: lc.Base, HTTP: lc.HTTP, Token: lc.Token}, nil
}

// defaultStateDir is durable run's --state default; apiTokensFile the token
// file it creates there when given no --token-file.
const (
	defaultStateDir = ".durable"
	apiTokensFile   = "api-tokens"
)
