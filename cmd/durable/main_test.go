package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary be its own child where a command starts
// this program again ("durable schema serve-isolated", which durable plan
// evaluates a revision in), as the real binary is, and a daemon a test
// starts and signals ("durable agent").
func TestMain(m *testing.M) {
	if len(os.Args) >= 3 && os.Args[1] == "schema" && os.Args[2] == "serve-isolated" || len(os.Args) >= 2 && os.Args[1] == "agent" {
		os.Exit(execute(os.Args[1:]))
	}
	os.Exit(m.Run())
}
