package pack

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkBuild packs a 16 MiB binary (a Go service's size) and computes
// the image's digest: the layer is written, compressed and hashed.
func BenchmarkBuild(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "web")
	data := make([]byte, 16<<20)
	if _, err := rand.Read(data); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		a, err := Build(Spec{Entrypoint: "web"}, []Input{{Platform: amd64, Binary: bin}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Digest(); err != nil {
			b.Fatal(err)
		}
	}
}
