package schema_test

import (
	"strconv"
	"testing"

	"github.com/durable-delivery/durable/internal/benchrepo"
	"github.com/durable-delivery/durable/schema"
)

// BenchmarkLoadDir loads generated repositories of 100, 1,000 and 10,000
// services (internal/benchrepo), as one revision costs the reconciler and
// durable validate; hack/bench/validate.sh compares the CLI with cue vet.
func BenchmarkLoadDir(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			dir := b.TempDir()
			if err := benchrepo.Write(dir, n); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				ds, err := schema.LoadDir(dir)
				if err != nil {
					b.Fatal(err)
				}
				if len(ds.Services) != n {
					b.Fatalf("%d services, want %d", len(ds.Services), n)
				}
			}
		})
	}
}
