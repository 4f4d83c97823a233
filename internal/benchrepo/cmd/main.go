// Command cmd writes a generated desired-state repository for
// hack/bench/validate.sh and hack/bench/scale.sh:
//
//	go run ./internal/benchrepo/cmd [-exec] DIR SERVICES
//
// With -exec the targets run on exec plug-ins, and it prints each target's
// name and its runtime and traffic plug-ins' names, a target a line, for the
// host file.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/durable-delivery/durable/internal/benchrepo"
)

func main() {
	exec := flag.Bool("exec", false, "targets on exec plug-ins; print TARGET RUNTIME-PLUGIN TRAFFIC-PLUGIN a line")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchrepo [-exec] DIR SERVICES")
		os.Exit(2)
	}
	n, err := strconv.Atoi(flag.Arg(1))
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchrepo: SERVICES: %v\n", err)
		os.Exit(2)
	}
	write := benchrepo.Write
	if *exec {
		write = benchrepo.WriteExec
	}
	if err := write(flag.Arg(0), n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *exec {
		for _, t := range benchrepo.Targets {
			fmt.Println(t, benchrepo.RuntimePlugin(t), benchrepo.TrafficPlugin(t))
		}
	}
}
