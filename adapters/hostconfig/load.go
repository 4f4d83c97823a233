package hostconfig

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/durable-delivery/durable/internal/hostfile"
)

// maxFile bounds the host file: it is small, and a mistake (a log file
// passed as the host file) must not fill memory.
const maxFile = 1 << 20

// Errors is every problem of a host file, each "file:line:col: what is
// wrong; how to fix it".
type Errors []string

func (es Errors) Error() string { return strings.Join(es, "\n") }

// Load reads a host file (YAML, or JSON, which is YAML too):
//
//	plugins:            # exec adapters, by name
//	  docker-py: {command: ["/usr/bin/python3", "/opt/durable/docker_runtime.py"], timeout: 30s}
//	  # longLived: true  (optional: one process per adapter, speaking JSON lines)
//	docker:             # Docker engines, by name
//	  local: {host: "unix:///var/run/docker.sock"}
//	haproxy:            # HAProxy Runtime API sockets, by name
//	  edge: {socket: "/run/haproxy/admin.sock"}
//	routers:            # Durable routers' admin APIs, by name
//	  edge: {admin: "unix:///run/durable/router-admin.sock"}   # or "127.0.0.1:7071"
//	  # tokenFile: /etc/durable/router.token  (optional: the bearer token of a TCP admin)
//
// The file is refused when another local user could have written it
// (internal/hostfile). It is decoded strictly: an unknown field, a value of
// the wrong type or a name that is not one is an error, and every one is
// reported, positioned.
func Load(file string) (*Config, error) {
	data, err := hostfile.ReadText(file, "host file", "make the reconciler run a command of theirs or send traffic elsewhere",
		"write it (docs/operating.md, \"Host configuration\") or fix the path given to --host-config", maxFile)
	if err != nil {
		return nil, Errors{file + ": " + err.Error()}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{hostfile.YAMLSyntaxError(file, err)}
	}
	d := &decoder{file: file}
	c := &Config{File: file, Plugins: map[string]Plugin{}, Docker: map[string]Docker{},
		HAProxy: map[string]HAProxy{}, Routers: map[string]Router{}}
	if len(doc.Content) == 0 {
		return c, nil
	}
	for key, n := range d.mapping(doc.Content[0], "the host file", "plugins", "docker", "haproxy", "routers") {
		d.section(key, n, c)
	}
	if len(d.errs) > 0 {
		return nil, d.sortErrors()
	}
	return c, nil
}
