// Command plugin is the exec plug-in of hack/bench/scale.sh: a runtime and a
// traffic adapter that keep their state in a directory and start nothing, so
// that the benchmark measures the reconciler's loop and not a container
// engine. It speaks the exec protocol of docs/adapters.md:
//
//	plugin runtime STATEDIR ENDPOINT   # every instance is ENDPOINT
//	plugin traffic STATEDIR
//	plugin serve ADDR                  # answers 200 to every request: the instances' health
//
// runtime and traffic speak both forms: a request without a call number is
// the one-shot form (answer it, exit); requests with one are the long-lived
// form's JSON lines, the first of them the hello handshake, answered with
// the same number until standard input ends.
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

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchplugin:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 3 && args[0] == "runtime":
		return stream(os.Stdin, os.Stdout, runtimeStore{dir: args[1], endpoint: args[2]}.handle)
	case len(args) == 2 && args[0] == "traffic":
		return stream(os.Stdin, os.Stdout, trafficStore{dir: args[1]}.handle)
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

// stream answers the requests on in: one without a call number, and it is
// done (the one-shot form); else each answer carries its request's number
// (the long-lived form) until in ends.
func stream(in io.Reader, out io.Writer, h handler) error {
	dec := json.NewDecoder(in)
	enc := json.NewEncoder(out)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			return nil
		} else if err != nil {
			_ = enc.Encode(map[string]any{"error": &failure{"invalid", "request: " + err.Error()}})
			return err
		}
		var head struct {
			Call *uint64 `json:"call"`
		}
		_ = json.Unmarshal(raw, &head) // a malformed request is answer's to report
		resp := answer(raw, h)
		if head.Call == nil {
			return enc.Encode(resp)
		}
		resp["call"] = *head.Call
		if err := enc.Encode(resp); err != nil {
			return err
		}
	}
}

// answer decodes one request and runs it, giving the response object. The
// hello of the long-lived form is answered here, for both adapters.
func answer(line []byte, h handler) map[string]any {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return map[string]any{"error": &failure{"invalid", "request: " + err.Error()}}
	}
	if req.Version != 1 {
		return map[string]any{"error": &failure{"invalid", fmt.Sprintf("protocol version %d; this plug-in speaks 1", req.Version)}}
	}
	if req.Op == "hello" {
		return map[string]any{"result": map[string]int{"version": 1}}
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
