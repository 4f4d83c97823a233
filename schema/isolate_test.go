package schema

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/examples"
)

// The test binary is its own isolated child: with this variable set it
// serves one evaluation and exits.
const serveIsolatedEnv = "DURABLE_TEST_SERVE_ISOLATED"

func TestMain(m *testing.M) {
	if os.Getenv(serveIsolatedEnv) == "1" {
		if err := ServeIsolated(os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func isolation(timeout time.Duration, memory uint64) Isolation {
	return Isolation{
		Command: []string{os.Args[0]},
		Env:     append(os.Environ(), serveIsolatedEnv+"=1"),
		Timeout: timeout,
		Memory:  memory,
	}
}

// An isolated load gives what an in-process load gives, errors included.
func TestIsolatedLoadMatchesLoad(t *testing.T) {
	want, err := Load(examples.Quickstart())
	if err != nil {
		t.Fatal(err)
	}
	got, err := isolation(0, 0).Load(context.Background(), examples.Quickstart())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("isolated:\n%+v\nin process:\n%+v", got, want)
	}
	broken := repo(map[string]string{"extra.cue": "package demo\n\nservices: web: run: replicas: \"two\"\n"})
	_, wantErr := Load(broken)
	_, gotErr := isolation(0, 0).Load(context.Background(), broken)
	var errs Errors
	if !errors.As(gotErr, &errs) || gotErr.Error() != wantErr.Error() {
		t.Errorf("isolated errors:\n%v\nin process:\n%v", gotErr, wantErr)
	}
}

// grid is a revision whose evaluation would take minutes and gigabytes.
var grid = repo(map[string]string{"grid.cue": `package demo

import "list"

grid: [for i in list.Range(0, 3000, 1) for j in list.Range(0, 3000, 1) {i * j}]
`})

func TestIsolatedLoadIsKilledAtTheTimeLimit(t *testing.T) {
	start := time.Now()
	_, err := isolation(300*time.Millisecond, 0).Load(context.Background(), grid)
	var errs Errors
	if !errors.As(err, &errs) || !strings.Contains(err.Error(), "took longer than 300ms, the limit") {
		t.Fatalf("got %v, want the time limit", err)
	}
	t.Logf("stopped after %s", time.Since(start))
}

func TestIsolatedLoadFailsAtTheMemoryLimit(t *testing.T) {
	_, err := isolation(time.Minute, 400<<20).Load(context.Background(), grid)
	var errs Errors
	if !errors.As(err, &errs) || !strings.Contains(err.Error(), "needed more than 400 MiB of memory") {
		t.Fatalf("got %v, want the memory limit", err)
	}
}

// The encrypted files a revision refers to are read from its tree.
func TestIsolatedLoadCarriesSopsFiles(t *testing.T) {
	enc := "token: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:m,iv:n,tag:o,type:str]\n"
	fsys := repo(map[string]string{
		"extra.cue":        "package demo\n\nservices: web: run: secretEnv: TOKEN: sops: {file: \"secrets/web.yaml\", key: \"token\"}\n",
		"secrets/web.yaml": enc,
	})
	ds, err := isolation(0, 0).Load(context.Background(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(ds.Services["web"].Run.SecretEnv["TOKEN"].Sops.Ciphertext); got != enc {
		t.Errorf("ciphertext %q", got)
	}
}

// benchIsolation is the test binary as the child, or, with
// DURABLE_BENCH_BINARY=PATH, that durable binary's serve-isolated (whose
// start-up is what a reconciler pays).
func benchIsolation() Isolation {
	if bin := os.Getenv("DURABLE_BENCH_BINARY"); bin != "" {
		return Isolation{Command: []string{bin, "schema", "serve-isolated"}}
	}
	return isolation(0, 0)
}

// BenchmarkIsolatedLoadQuickstart is the cost of one revision's evaluation
// in a child process, start-up included, for the quickstart (compare
// BenchmarkLoadQuickstart, in process).
func BenchmarkIsolatedLoadQuickstart(b *testing.B) {
	benchLoads(b, benchIsolation().Load)
}

// How a child that ran out of its address space dies, as seen: the
// runtime's own words, or a fault in its garbage collector.
func TestMemoryExhaustedRecognisesHowTheRuntimeDies(t *testing.T) {
	for _, tc := range []struct {
		stderr string
		want   bool
	}{
		{"fatal error: runtime: out of memory\n\nruntime stack:\n", true},
		{"fatal error: runtime: cannot allocate memory\n\nruntime stack:\n", true},
		{"runtime: out of memory: cannot allocate 4194304-byte block (7929856 in use)\nfatal error: out of memory\n", true},
		{"SIGSEGV: segmentation violation\nPC=0x43961d m=4 sigcode=1 addr=0x0\n\ngoroutine 0 gp=0x3d44cdf2f4a0 m=4 mp=0x3d44cdf8b808 [idle]:\nruntime.(*spanQueue).tryDrain(0x7f4500000400?)\n", true},
		{"SIGSEGV: segmentation violation\nPC=0x43961d m=4 sigcode=1 addr=0x0\n\ngoroutine 1 gp=0x3d44 m=4 [running]:\nmain.crash()\n", false},
		{"panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n", false},
		{"", false},
	} {
		if got := memoryExhausted(tc.stderr); got != tc.want {
			t.Errorf("memoryExhausted(%q) = %v, want %v", tc.stderr, got, tc.want)
		}
	}
}
