package hostconfig

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	data, err := read(file)
	if err != nil {
		return nil, Errors{file + ": " + err.Error()}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{syntaxError(file, err)}
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

// read reads file once it is safe and not too large.
func read(file string) ([]byte, error) {
	f, err := hostfile.Open(file, "host file", "make the reconciler run a command of theirs or send traffic elsewhere")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("the host file does not exist; write it (docs/operating.md, \"Host configuration\") or fix the path given to --host-config")
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("read: %v", err)
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("the host file is larger than %d bytes; is it the right file?", maxFile)
	}
	return data, nil
}

// syntaxError positions a YAML parse error; the parser reports only the
// line ("yaml: line 3: ..."), so the column is 1.
func syntaxError(file string, err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, _ := fmt.Sscanf(rest, "%d:", &line); n == 1 {
			msg = strings.TrimSpace(rest[strings.Index(rest, ":")+1:])
		}
	}
	return fmt.Sprintf("%s:%d:1: %s; fix the YAML syntax (indentation, quotes, a missing colon)", file, line, msg)
}
