// Command cmd writes a generated desired-state repository for
// hack/bench/validate.sh: go run ./internal/benchrepo/cmd DIR SERVICES.
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/durable-delivery/durable/internal/benchrepo"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: benchrepo DIR SERVICES")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchrepo: SERVICES: %v\n", err)
		os.Exit(2)
	}
	if err := benchrepo.Write(os.Args[1], n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
