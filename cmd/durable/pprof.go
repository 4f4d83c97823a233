//go:build pprof

// A profiling build for the benchmarks: `go build -tags pprof` serves
// net/http/pprof on DURABLE_PPROF (an address on loopback, e.g.
// 127.0.0.1:6060) from the start of any command. Release builds carry none
// of it.
package main

import (
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("DURABLE_PPROF")
	if addr == "" {
		return
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		slog.Error("DURABLE_PPROF must be a loopback address with a port, e.g. 127.0.0.1:6060", "got", addr)
		os.Exit(2)
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("pprof listener", "err", err)
		}
	}()
}
