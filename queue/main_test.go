package queue

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
)

// TestMain lets the test binary be a queue runner of its own, which the
// kill test starts and SIGKILLs: with DURABLE_QUEUE_CHILD set it passes
// over the queue at DURABLE_QUEUE_STATE on DURABLE_QUEUE_REPO until no
// proposal is live, at speculative depth DURABLE_QUEUE_DEPTH, then exits.
func TestMain(m *testing.M) {
	if os.Getenv("DURABLE_QUEUE_CHILD") == "1" {
		if err := child(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func child() error {
	st, err := OpenStore(os.Getenv("DURABLE_QUEUE_STATE"))
	if err != nil {
		return err
	}
	depth, err := strconv.Atoi(os.Getenv("DURABLE_QUEUE_DEPTH"))
	if err != nil {
		return err
	}
	run, err := NewRunner(Config{Repo: os.Getenv("DURABLE_QUEUE_REPO"), Store: st, Depth: depth})
	if err != nil {
		return err
	}
	_, err = run.Drain(context.Background())
	return err
}
