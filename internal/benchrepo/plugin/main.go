// Command plugin is the exec plug-in of hack/bench/scale.sh: a runtime and a
// traffic adapter that keep their state in a directory and start nothing, so
// that the benchmark measures the reconciler's loop and not a container
// engine. It speaks the exec protocol of docs/adapters.md:
//
//	plugin runtime STATEDIR ENDPOINT   # every instance is ENDPOINT
//	plugin traffic STATEDIR
//	plugin serve ADDR                  # answers 200 to every request: the instances' health
//
// runtime and traffic answer one request read from standard input.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// maxRequest bounds one request line.
const maxRequest = 4 << 20

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchplugin:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 3 && args[0] == "runtime":
		return oneShot(os.Stdin, os.Stdout, runtimeStore{dir: args[1], endpoint: args[2]}.handle)
	case len(args) == 2 && args[0] == "traffic":
		return oneShot(os.Stdin, os.Stdout, trafficStore{dir: args[1]}.handle)
	case len(args) == 2 && args[0] == "serve":
		return serve(args[1])
	}
	return fmt.Errorf("usage: plugin runtime STATEDIR ENDPOINT | plugin traffic STATEDIR | plugin serve ADDR")
}

// serve answers 200 to every request on addr, after printing the address it
// listens on (addr may have port 0).
func serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr())
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	return srv.Serve(ln)
}

// request is what Durable sends: the fields of every operation.
type request struct {
	Version int             `json:"version"`
	Op      string          `json:"op"`
	Spec    *spec           `json:"spec"`
	ID      string          `json:"id"`
	Grace   string          `json:"grace"`
	Service string          `json:"service"`
	Set     string          `json:"set"`
	Split   json.RawMessage `json:"split"`
}

// spec is an ensure's infra-set.
type spec struct {
	ID       string `json:"id"`
	Service  string `json:"service"`
	Release  string `json:"release"`
	Replicas int    `json:"replicas"`
}

// failure is an error the protocol names by kind.
type failure struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

func (f *failure) Error() string { return f.Kind + ": " + f.Message }

// handler answers one request with a result (marshalled to JSON) or an error.
type handler func(request) (any, error)

// oneShot answers the single request on in.
func oneShot(in io.Reader, out io.Writer, h handler) error {
	line, err := io.ReadAll(io.LimitReader(in, maxRequest))
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(answer(line, h))
}

// answer decodes one request and runs it, giving the response object.
func answer(line []byte, h handler) map[string]any {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return map[string]any{"error": &failure{"invalid", "request: " + err.Error()}}
	}
	if req.Version != 1 {
		return map[string]any{"error": &failure{"invalid", fmt.Sprintf("protocol version %d; this plug-in speaks 1", req.Version)}}
	}
	result, err := h(req)
	if err != nil {
		f, ok := err.(*failure)
		if !ok {
			f = &failure{"unavailable", err.Error()}
		}
		return map[string]any{"error": f}
	}
	return map[string]any{"result": result}
}
