// Package hostconfig holds the operator's host file (durable run
// --host-config): everything a target binds on the reconciler's host — exec
// plug-ins with their executables, Docker engines, HAProxy Runtime API
// sockets, Durable routers' admin addresses — each under a name the
// desired-state repository refers to (DESIGN.md, "Who is trusted with
// what"). A committer chooses among the operator's names, never a command,
// a socket or an address.
//
// It must never take a value from the repository: it reads the host file
// only, through internal/hostfile, and knows nothing of Git, CUE or OPA.
package hostconfig

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Config is a loaded host file. The zero Config (or a nil one: durable run
// without --host-config) names nothing, and every lookup fails saying how
// to add the name.
type Config struct {
	// File is the path the host file was loaded from.
	File    string
	Plugins map[string]Plugin
	Docker  map[string]Docker
	HAProxy map[string]HAProxy
	Routers map[string]Router
}

// Plugin is an exec adapter's executable and its arguments.
type Plugin struct {
	// Command is the absolute path of an executable and its arguments.
	Command []string
	// Timeout bounds one call when the repository sets none; zero is the
	// adapter's default.
	Timeout time.Duration
	// LongLived runs one process per adapter, started on first use and
	// speaking JSON lines, instead of one process per call
	// (docs/adapters.md, "The long-lived form").
	LongLived bool
}

// Docker is a Docker engine's address.
type Docker struct {
	// Host is "unix:///PATH" or "tcp://HOST:PORT".
	Host string
}

// HAProxy is an HAProxy Runtime API socket (level admin).
type HAProxy struct {
	// Socket is the socket's absolute path.
	Socket string
}

// Router is a Durable router's admin API.
type Router struct {
	// Admin is "HOST:PORT" or "unix:///PATH".
	Admin string
	// TokenFile holds the bearer token of a TCP admin API; empty when
	// there is none.
	TokenFile string
}

// Plugin looks up the exec plug-in name.
func (c *Config) Plugin(name string) (Plugin, error) {
	return lookup(c, name, c.orNone().Plugins, kinds[0])
}

// DockerHost looks up the Docker engine name.
func (c *Config) DockerHost(name string) (Docker, error) {
	return lookup(c, name, c.orNone().Docker, kinds[1])
}

// HAProxySocket looks up the HAProxy socket name.
func (c *Config) HAProxySocket(name string) (HAProxy, error) {
	return lookup(c, name, c.orNone().HAProxy, kinds[2])
}

// Router looks up the router admin name.
func (c *Config) Router(name string) (Router, error) {
	return lookup(c, name, c.orNone().Routers, kinds[3])
}

// orNone is c, or an empty host file when there is none (nil): every
// name is then unknown.
func (c *Config) orNone() *Config {
	if c == nil {
		return &Config{}
	}
	return c
}

// kind is one section of the host file, as messages name it.
type kind struct {
	section string // the host file's key
	what    string // what one entry is
	example string // an entry, for the fix
}

var kinds = [4]kind{
	{section: "plugins", what: "exec plug-in", example: `{command: ["/usr/local/bin/PROGRAM", "ARG"]}`},
	{section: "docker", what: "Docker engine", example: `{host: "unix:///var/run/docker.sock"}`},
	{section: "haproxy", what: "HAProxy socket", example: `{socket: "/run/haproxy/admin.sock"}`},
	{section: "routers", what: "router admin address", example: `{admin: "unix:///run/durable/router-admin.sock"}`},
}

// maxListed bounds how many names an error lists: a host file may hold many.
const maxListed = 20

// lookup finds name in m, or says which names there are and how to add it.
func lookup[T any](c *Config, name string, m map[string]T, k kind) (T, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	var zero T
	add := fmt.Sprintf("add %s: {%s: %s} to it", k.section, name, k.example)
	if c == nil || c.File == "" {
		return zero, fmt.Errorf("%s %q is not known on this host: the reconciler runs without a host file; write one and pass it as durable run --host-config FILE, with %s: {%s: %s}",
			k.what, name, k.section, name, k.example)
	}
	known := "it names none"
	if len(m) > 0 {
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) > maxListed {
			names = append(names[:maxListed], fmt.Sprintf("and %d more", len(names)-maxListed))
		}
		known = "it names " + strings.Join(names, ", ")
	}
	return zero, fmt.Errorf("%s %q is not in the host file %s (%s); name one of those, or %s", k.what, name, c.File, known, add)
}
