package schema

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestYAMLThatPanicsCUEIsRefused: a YAML file on which CUE's decoder
// panics (FuzzLoad's finding) is refused with an error naming the file,
// instead of stopping the process.
func TestYAMLThatPanicsCUEIsRefused(t *testing.T) {
	fsys := fstest.MapFS{"services.yaml": {Data: []byte("\r\r\rr:\n    t:\n    n:\n#    two    ")}}
	ds, err := Load(fsys)
	if ds != nil || err == nil || !strings.Contains(err.Error(), "services.yaml") || !strings.Contains(err.Error(), "YAML decoder failed") {
		t.Fatalf("Load = %v, %v; want an error naming services.yaml and the decoder's failure", ds, err)
	}
	t.Log(err)
}
