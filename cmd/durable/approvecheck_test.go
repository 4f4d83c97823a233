package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/tarfiles"
)

// A tree over the limits is refused with the limit's error, not git's
// broken pipe, and git archive, blocked writing the rest, does not hold
// approve up.
func TestLoadCommitRefusesATreeOverTheLimits(t *testing.T) {
	repo, _, _ := approvalRepo(t)
	if err := os.WriteFile(filepath.Join(repo, "blob.bin"), bytes.Repeat([]byte("0123456789abcdef"), 1<<16), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"add", "blob.bin"}, {"commit", "-q", "-m", "a megabyte"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	defer func(saved tarfiles.Limits) { commitLimits = saved }(commitLimits)
	commitLimits.File = 64 << 10
	// The deadline only keeps a broken loadCommit from hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := loadCommit(ctx, repo, "HEAD")
	if ctx.Err() != nil {
		t.Fatal("loadCommit waited for git archive until the test's deadline")
	}
	if err == nil || !strings.Contains(err.Error(), "blob.bin: 1048576 bytes, more than the 65536 of one file") {
		t.Fatalf("loadCommit: %v, want the per-file limit named", err)
	}
	if !strings.Contains(err.Error(), "export-ignore") {
		t.Fatalf("loadCommit: %v, want the way past the limit", err)
	}
}
