// Command durable is Durable's one binary: the reconciler daemon, its CLI,
// the router of the embedded default and the demo. It wires packages
// together; the logic lives in them.
package main

import "os"

func main() {
	os.Exit(execute(os.Args[1:]))
}
